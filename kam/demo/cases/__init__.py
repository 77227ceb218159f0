"""The three cases of SPEC §11, told as records and events in time.

The demo company is a diversified industrial supplier group whose key-account teams
use KAM: a raw-materials business (廖总's), a garment-accessories unit (the 皇冠
case) and a German machine-tool distribution unit (B公司). Every write goes through
a service under a frozen clock, so the history reads as it happened: the deal
created months ago, evaluated, its buying centre mapped, walked through each key
node on evidence; the buyer moving; the VP sent away, the design head taking over;
李四 signing the referral agreement, his deals won and their money collected, his
commissions held because his employer is the buyer."""

from __future__ import annotations

from typing import Any

from kam.demo.cases.common import (
    ACCOUNT_NAMES,
    B_ACCOUNT,
    B_INDIRECT_ACCOUNT,
    CROWN_ACCOUNT,
    LIAO_ACCOUNT,
    LIAO_DESIGN_HEAD,
    LIAO_NEW_GM,
    LIAO_VP,
    LISI,
    OLDEST_DAYS_AGO,
    CaseRecords,
)
from kam.demo.cases.crown import crown
from kam.demo.cases.liao import liao
from kam.demo.cases.partner import b_company
from kam.demo.timeline import Timeline

__all__ = [
    "ACCOUNT_NAMES",
    "B_ACCOUNT",
    "B_INDIRECT_ACCOUNT",
    "CROWN_ACCOUNT",
    "LIAO_ACCOUNT",
    "LIAO_DESIGN_HEAD",
    "LIAO_NEW_GM",
    "LIAO_VP",
    "LISI",
    "OLDEST_DAYS_AGO",
    "CaseRecords",
    "b_company",
    "crown",
    "liao",
    "tell_all",
]


def tell_all(users: dict[str, Any], t: Timeline) -> CaseRecords:
    out = CaseRecords(accounts=[], opportunities=[])
    for case in (liao, crown, b_company):
        made = case(users, t)
        out.accounts += made.accounts
        out.opportunities += made.opportunities
    return out
