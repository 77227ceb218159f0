"""Builders for the referral programme's tests: won deals, collections and partners,
all written through the services under a frozen clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kam.accounts.services import account_create
from kam.core import clock
from kam.opportunities import process
from kam.opportunities.services import opportunity_create
from kam.partners import services

CST = ZoneInfo("Asia/Shanghai")
# The tests look at the programme on 2026-08-10: 2026H1 has ended, 2026H2 is open.
TODAY = dt.datetime(2026, 8, 10, 10, 0, tzinfo=CST)


def at(y: int, mo: int, d: int, h: int = 10) -> dt.datetime:
    return dt.datetime(y, mo, d, h, 0, tzinfo=CST)


def won_deal(rep, account, name: str, amount: str, won: dt.datetime):
    """A deal brought in at negotiation and won (contract signed) at `won`."""
    with clock.freeze(won - dt.timedelta(days=30)):
        opp = opportunity_create(
            actor=rep,
            account=account,
            name=name,
            amount=amount,
            expected_close=won.date(),
            stage="negotiation",
            buyer_stage="negotiation",
        )
    with clock.freeze(won):
        process.milestone_record(actor=rep, opportunity=opp, kind="contract_signed")
        process.opportunity_close(actor=rep, opportunity=opp, outcome="won")
    opp.refresh_from_db()
    return opp


def pay(actor, opp, amount: str, day: dt.date, reference: str = ""):
    with clock.freeze(at(day.year, day.month, day.day, 16)):
        return services.payment_record(
            actor=actor, opportunity=opp, amount=amount, date=day, reference=reference
        )


@pytest.fixture
def frozen():
    with clock.freeze(TODAY):
        yield TODAY


@pytest.fixture
def lisi(world, frozen):
    """SPEC §7's worked example for rep_a's partner 李四 in 2026H1: direct deals of
    40,000 and 60,000 with 40,000 and 50,000 collected, and an indirect sale of 30,000.
    His employer is the customer of the two direct deals (a conflict of interest)."""
    rep = world.rep_a
    with clock.freeze(at(2025, 12, 1)):
        employer = account_create(actor=rep, name="苏州博远精密机械")
        other = account_create(actor=rep, name="无锡启航自动化")
        partner = services.partner_create(
            actor=rep,
            name="李四",
            employer_account=employer,
            agreement_date=dt.date(2025, 11, 20),
            agreement_terms="5% of collections on direct referrals; volume bonus.",
        )
    d40 = won_deal(rep, employer, "虎钳及夹具", "40000", at(2026, 2, 10))
    d60 = won_deal(rep, employer, "数控转台配件", "60000", at(2026, 3, 15))
    d30 = won_deal(rep, other, "三坐标测量仪配件", "30000", at(2026, 4, 20))
    with clock.freeze(at(2026, 1, 5)):
        refs = {
            "d40": services.referral_add(
                actor=rep, partner=partner, opportunity=d40, kind="direct"
            ),
            "d60": services.referral_add(
                actor=rep, partner=partner, opportunity=d60, kind="direct"
            ),
            "d30": services.referral_add(
                actor=rep, partner=partner, opportunity=d30, kind="indirect"
            ),
        }
    pay(rep, d40, "40000", dt.date(2026, 3, 1))
    pay(rep, d60, "30000", dt.date(2026, 4, 1))
    pay(rep, d60, "20000", dt.date(2026, 6, 30))
    return {
        "partner": partner,
        "employer": employer,
        "other": other,
        "deals": {"d40": d40, "d60": d60, "d30": d30},
        "referrals": refs,
    }


# --- more builders (partners without a conflict, referrals, programme overrides) ------

AGREED = dt.date(2025, 11, 20)


def make_partner(actor, name: str = "王五", *, employer=None, agreement=AGREED, **fields):
    """A partner managed by `actor`, signed up on 2025-12-01."""
    with clock.freeze(at(2025, 12, 1)):
        return services.partner_create(
            actor=actor, name=name, employer_account=employer, agreement_date=agreement, **fields
        )


def refer(actor, partner, opp, kind: str = "direct", day: dt.date = dt.date(2026, 1, 5)):
    with clock.freeze(at(day.year, day.month, day.day)):
        return services.referral_add(actor=actor, partner=partner, opportunity=opp, kind=kind)


def worked_example(rep, *, name: str, employer=None) -> dict:
    """SPEC §7's worked example in 2026H1 for a partner of `rep`: direct deals of 40,000
    and 60,000 (40,000 and 50,000 collected) and an indirect sale of 30,000, the
    direct deals bought by `employer` when one is given (else by another customer)."""
    with clock.freeze(at(2025, 12, 1)):
        buyer = employer or account_create(actor=rep, name=f"{name} 的客户")
        other = account_create(actor=rep, name=f"{name} 的另一客户")
    partner = make_partner(rep, name, employer=employer)
    d40 = won_deal(rep, buyer, f"{name} 虎钳", "40000", at(2026, 2, 10))
    d60 = won_deal(rep, buyer, f"{name} 转台", "60000", at(2026, 3, 15))
    d30 = won_deal(rep, other, f"{name} 测量仪", "30000", at(2026, 4, 20))
    refs = {
        "d40": refer(rep, partner, d40),
        "d60": refer(rep, partner, d60),
        "d30": refer(rep, partner, d30, "indirect"),
    }
    pay(rep, d40, "40000", dt.date(2026, 3, 1))
    pay(rep, d60, "30000", dt.date(2026, 4, 1))
    pay(rep, d60, "20000", dt.date(2026, 6, 30))
    return {
        "partner": partner,
        "buyer": buyer,
        "other": other,
        "deals": {"d40": d40, "d60": d60, "d30": d30},
        "referrals": refs,
    }


@pytest.fixture
def wangwu(world, frozen):
    """SPEC §7's worked example without a conflict: rep_a's partner 王五 has no employer."""
    return worked_example(world.rep_a, name="王五")


@pytest.fixture
def set_programme(monkeypatch):
    """`set_programme(**changes)` changes the shipped `standard` programme for the test
    (e.g. period="year", direct_rate="0.03"); validated like the file."""
    from kam.methodology import registry
    from kam.methodology.commission import ProgrammeModel

    m = registry.current()
    shipped = m.partner_programmes

    def change(key: str = "standard", **changes) -> None:
        base = shipped.programmes["standard"].model_dump(mode="json")
        current = m.partner_programmes.model_dump(mode="json")
        current["programmes"][key] = {**base, **changes}
        monkeypatch.setattr(m, "partner_programmes", ProgrammeModel.model_validate(current))

    return change
