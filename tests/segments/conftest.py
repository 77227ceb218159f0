"""A small market to segment: four accounts of three reps in two teams, with their
demographic fields and segmentation profiles, built through the account services."""

from __future__ import annotations

import datetime as dt

import pytest

from kam.accounts.services import account_create
from kam.opportunities.services import opportunity_create


@pytest.fixture
def market(world) -> dict:
    """rep_a (East): 常州 car parts (large, automated, centralised, seat fabric) and a
    Shanghai electronics maker; rep_b (East): a very large Wuxi "Automotive" plant;
    rep_c (West): a large manual car maker in 成都. Each has a deal, so a rep who
    only sells there sees the account too."""
    accounts = {
        "changzhou": account_create(
            actor=world.rep_a,
            name="常州汽车配件厂",
            industry="汽车零部件",
            region="江苏常州",
            size="large",
            nature="private",
            attributes={
                "technology": "automated",
                "procurement": "centralised",
                "application": "座椅面料",
                "loyalty": "low",
            },
        ),
        "shanghai": account_create(
            actor=world.rep_a,
            name="上海电子",
            industry="电子",
            region="上海",
            size="medium",
            attributes={"technology": "digital", "procurement": "decentralised"},
        ),
        "wuxi": account_create(
            actor=world.rep_b,
            name="无锡汽车",
            industry="Automotive",
            region="江苏无锡",
            size="very_large",
            attributes={"technology": "automated"},
        ),
        "chengdu": account_create(
            actor=world.rep_c,
            name="成都汽车",
            industry="汽车整车",
            region="四川成都",
            size="large",
            attributes={"technology": "manual"},
        ),
    }
    for account in accounts.values():
        opportunity_create(
            actor=account.owner,
            account=account,
            name=f"{account.name} 项目",
            amount="100000",
            expected_close=dt.date(2027, 6, 30),
        )
    return accounts
