"""The competitor_stronger alert (SPEC §5): a rival's weighted score in the deal's
competition table beats ours, over the criteria both are scored on. The rule on
plain facts first (pure), then through the API: the table written with PUT raises
the alert and its ×0.8 on the win probability, and better scores lift it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kam.methodology import registry, risks
from kam.methodology.facts import CompetitionFacts, DealFacts
from kam.methodology.registry import MethodologyError
from kam.methodology.risks import Evidence, RiskConfig, RuleConfig
from kam.methodology.text import render
from kam.opportunities.rules import win_probability

SHIPPED = Path(registry.__file__).parent / "playbooks"
M = registry.build([SHIPPED])
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
ALL = (
    "purchase_share",
    "profit",
    "cooperation_history",
    "relationship",
    "technical_barriers",
    "satisfaction",
    "brand",
    "production_scale",
    "technical_level",
    "financial_strength",
    "quality",
    "service",
    "price",
)


def en(value) -> str:
    return render(value, lambda s: s, "en")


def config(**params) -> RiskConfig:
    shipped = M.risks.rules["competitor_stronger"]
    conf = (
        shipped.model_copy(update={"params": {**shipped.params, **params}}) if params else shipped
    )
    return RiskConfig(rules={"competitor_stronger": conf})


def ctx(m=M) -> risks.RiskContext:
    return risks.RiskContext(
        playbook=m.playbooks["standard-6"],
        checks=m.check_context,
        now=NOW,
        buyer_seller_work=m.buyer_seller_work,
        buying_centre=m.buying_centre,
        competition=m.competition,
    )


def us(**scores) -> CompetitionFacts:
    return CompetitionFacts(competitor_id=None, name="", scores=scores)


def rival(pk: int, name: str, **scores) -> CompetitionFacts:
    return CompetitionFacts(competitor_id=pk, name=name, scores=scores)


def deal(*parties, status="open") -> DealFacts:
    return DealFacts(
        id=1,
        playbook="standard-6",
        stage="proposal",
        buyer_stage="criteria",
        status=status,
        priority="A",
        stage_entered_at=NOW - dt.timedelta(days=3),
        expected_close=dt.date(2027, 3, 31),
        competition=tuple(parties),
    )


def alerts(facts: DealFacts, conf: RiskConfig | None = None, context=None):
    return risks.evaluate(facts, context or ctx(), conf or config())


# --- fires, does not fire -------------------------------------------------------------------


def test_the_shipped_rule():
    conf = M.risks.rules["competitor_stronger"]
    assert (conf.severity, conf.probability_factor) == ("medium", 0.8)
    assert conf.params == {"min_gap": 0, "high_gap": 10}


def test_a_rival_ahead_fires_naming_it_both_scores_and_its_three_widest_leads():
    # (equal leads: the heavier criterion first — relationship 12 before history 8)
    # given: the 常州 incumbent leads on history, share and relationship; we on price.
    # Ours: 8×1 + 8×2 + 12×3 + 12×4 + 8×5 = 148 of 240 → 61.7;
    # theirs: 8×5 + 8×4 + 12×5 + 12×4 + 8×3 = 204 of 240 → 85.0
    facts = deal(
        us(purchase_share=1, cooperation_history=2, relationship=3, quality=4, price=5),
        rival(7, "常州精工", purchase_share=5, cooperation_history=4, relationship=5, quality=4,
              price=3),
    )  # fmt: skip
    # when
    found = alerts(facts)
    # then
    assert [a.code for a in found] == ["competitor_stronger"]
    alert = found[0]
    assert alert.severity == "high"  # 23.3 points ≥ high_gap 10
    assert alert.evidence == (Evidence("competitor", 7),)
    assert alert.probability_factor == 0.8
    assert en(alert.title) == "Stronger competitor: 常州精工"
    assert en(alert.message) == (
        "In the competition table a rival scores higher than us: 常州精工 85.0 against our "
        "61.7 over 5 criteria, ahead on Purchase share +4, Customer relationship +2, "
        "Cooperation history +2."
    )
    assert en(alert.action) == (
        "Close the gap on Purchase share, Customer relationship, Cooperation history, or "
        "reshape the customer's buying criteria toward where we lead (Price) with the "
        "technical and decision makers."
    )


def test_a_lead_below_high_gap_is_medium():
    # given: 12×4 + 8×3 = 72 of 100 against 12×3 + 8×5 = 76 of 100: a lead of 4 points
    facts = deal(us(quality=4, price=3), rival(3, "B", quality=3, price=5))
    # when
    (alert,) = alerts(facts)
    # then
    assert alert.severity == "medium"
    assert "B 76.0 against our 72.0 over 2 criteria, ahead on Price +2" in en(alert.message)


def test_exactly_high_gap_is_high():
    # given: price only: 3 → 60, 4 → 80 … a 20-point lead with high_gap 20 is high
    facts = deal(us(price=3), rival(3, "B", price=4))
    assert alerts(facts, config(high_gap=20))[0].severity == "high"
    assert alerts(facts, config(high_gap=20.1))[0].severity == "medium"


def test_a_tie_does_not_fire():
    # 12×4 + 8×3 = 72 both ways
    facts = deal(us(quality=4, price=3, brand=2), rival(3, "B", quality=4, price=3, service=5))
    assert alerts(facts) == []


def test_us_ahead_does_not_fire():
    facts = deal(us(quality=5, price=3), rival(3, "B", quality=3, price=5))
    assert alerts(facts) == []


def test_min_gap_needs_a_wider_lead():
    # given: a 4-point lead (72 against 76)
    facts = deal(us(quality=4, price=3), rival(3, "B", quality=3, price=5))
    # when / then
    assert [a.code for a in alerts(facts, config(min_gap=3.9))] == ["competitor_stronger"]
    assert alerts(facts, config(min_gap=4)) == []


def test_partial_columns_are_compared_on_the_criteria_both_have():
    # given: we are strong across the board but weak on price; the rival is only scored on
    # price and service, where it is ahead (81.3 against 58.7)
    facts = deal(
        us(**dict.fromkeys(ALL, 4) | {"price": 2}),
        rival(3, "低价厂", price=5, service=3),
    )
    # when
    (alert,) = alerts(facts)
    # then
    assert "低价厂 81.3 against our 58.7 over 2 criteria, ahead on Price +3" in en(alert.message)
    assert "where we lead (Service)" in en(alert.action)


def test_no_common_criterion_does_not_fire():
    facts = deal(us(price=1), rival(3, "B", quality=5))
    assert alerts(facts) == []


def test_several_rivals_ahead_make_one_alert_widest_first():
    # given
    facts = deal(
        us(quality=3, price=3),
        rival(3, "Alpha", quality=4, price=3),  # 12×4 + 24 = 72 of 100 vs 60: +12
        rival(4, "Bravo", quality=3, price=4),  # 36 + 32 = 68: +8
        rival(5, "Charlie", quality=2, price=3),  # behind
    )
    # when
    found = alerts(facts)
    # then
    assert len(found) == 1
    assert found[0].evidence == (Evidence("competitor", 3), Evidence("competitor", 4))
    assert en(found[0].title) == "Stronger competitor: Alpha, Bravo"
    assert en(found[0].message) == (
        "In the competition table a rival scores higher than us: Alpha 72.0 against our 60.0 "
        "over 2 criteria, ahead on Product quality +1; Bravo 68.0 against our 60.0 over 2 "
        "criteria, ahead on Price +1."
    )
    assert found[0].severity == "high"
    # the factor applies once, however many rivals are ahead
    value, factors = win_probability(
        playbook=M.playbooks["standard-6"], stage="proposal", status="open", alerts=found
    )
    assert [(f.key, f.value) for f in factors][1:] == [("competitor_stronger", 0.8)]


@pytest.mark.parametrize(
    "parties",
    [
        (),
        (rival(3, "B", price=5),),  # no column for us
        (us(), rival(3, "B", price=5)),  # an empty column for us
    ],
)
def test_no_table_or_no_column_for_us_raises_nothing(parties):
    assert alerts(deal(*parties)) == []


def test_closed_deals_raise_nothing():
    facts = deal(us(price=1), rival(3, "B", price=5), status="lost")
    assert alerts(facts) == []


def test_without_the_competition_model_the_rule_is_silent():
    facts = deal(us(price=1), rival(3, "B", price=5))
    bare = risks.RiskContext(playbook=M.playbooks["standard-6"], checks=M.check_context, now=NOW)
    assert alerts(facts, context=bare) == []


def test_off_when_disabled():
    facts = deal(us(price=1), rival(3, "B", price=5))
    off = RiskConfig(rules={"competitor_stronger": RuleConfig(enabled=False)})
    assert alerts(facts, off) == []


def test_thresholds_are_checked_at_start_up(tmp_path):
    # given: an administrator's risks.toml with high_gap below min_gap
    (tmp_path / "risks.toml").write_text(
        "[rules.competitor_stronger]\nparams = { min_gap = 5, high_gap = 3 }\n", encoding="utf-8"
    )
    # when / then
    with pytest.raises(
        MethodologyError,
        match=r"risks.toml: .*rules.competitor_stronger.params.*high_gap must be greater than "
        r"min_gap",
    ):
        registry.build([SHIPPED], model_override_dir=tmp_path)


def test_a_configured_min_gap_is_used(tmp_path):
    # given: the override asks for a lead of more than 5 points
    (tmp_path / "risks.toml").write_text(
        "[rules.competitor_stronger]\nprobability_factor = 0.9\n"
        "params = { min_gap = 5, high_gap = 15 }\n",
        encoding="utf-8",
    )
    m = registry.build([SHIPPED], model_override_dir=tmp_path)
    four = deal(us(quality=4, price=3), rival(3, "B", quality=3, price=5))  # +4
    twelve = deal(us(quality=3, price=3), rival(3, "B", quality=4, price=3))  # +12
    # when / then
    assert risks.evaluate(four, ctx(m), m.risks) == []
    (alert,) = risks.evaluate(twelve, ctx(m), m.risks)
    assert (alert.severity, alert.probability_factor) == ("medium", 0.9)


# --- through the API ---------------------------------------------------------------------


def _ok(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()


@pytest.fixture
def rep(world, api_as):
    return api_as(world.rep_a)


@pytest.fixture
def deal_id(rep) -> int:
    account = _ok(rep.post("accounts", {"name": "某服装品牌"}), 201)["id"]
    return _ok(
        rep.post(
            "opportunities",
            {"account_id": account, "name": "辅料年度供货", "amount": 800_000,
             "expected_close": "2027-06-30"},
        ),
        201,
    )["id"]  # fmt: skip


@pytest.fixture
def incumbent(rep) -> int:
    return _ok(rep.post("competitors", {"name": "常州精工"}), 201)["id"]


def _codes(client, deal: int) -> list[str]:
    return [r["code"] for r in _ok(client.get(f"opportunities/{deal}/risks"))]


def _factors(client, deal: int) -> list[tuple[str, float]]:
    body = _ok(client.get(f"opportunities/{deal}/win-probability"))
    return [(f["key"], f["value"]) for f in body["factors"]]


def test_a_stronger_rival_in_the_table_raises_the_alert_until_we_improve(rep, deal_id, incumbent):
    # given: no table yet
    assert "competitor_stronger" not in _codes(rep, deal_id)
    # when: the incumbent beats us on share and history
    _ok(
        rep.put(
            f"opportunities/{deal_id}/competition",
            {"scores": {"us": {"purchase_share": 1, "cooperation_history": 2, "price": 5},
                        str(incumbent): {"purchase_share": 5, "cooperation_history": 5,
                                         "price": 3}}},
        )
    )  # fmt: skip
    # then: each criterion weighs 8: ours 8 + 16 + 40 = 64 of 120, theirs 40 + 40 + 24 = 104
    risks_now = _ok(rep.get(f"opportunities/{deal_id}/risks"))
    (found,) = [r for r in risks_now if r["code"] == "competitor_stronger"]
    assert found["severity"] == "high"
    assert found["evidence"] == [{"kind": "competitor", "id": incumbent}]
    assert found["message"] == (
        "In the competition table a rival scores higher than us: 常州精工 86.7 against our "
        "53.3 over 3 criteria, ahead on Purchase share +4, Cooperation history +3."
    )
    assert ("competitor_stronger", 0.8) in _factors(rep, deal_id)
    # when: we win share and history
    _ok(
        rep.put(
            f"opportunities/{deal_id}/competition",
            {"scores": {"us": {"purchase_share": 5, "cooperation_history": 5, "price": 5},
                        str(incumbent): {"purchase_share": 5, "cooperation_history": 5,
                                         "price": 3}}},
        )
    )  # fmt: skip
    # then
    assert "competitor_stronger" not in _codes(rep, deal_id)
    assert "competitor_stronger" not in [k for k, _v in _factors(rep, deal_id)]


def test_the_facts_of_many_deals_read_every_table_in_one_query(world, rep, deal_id, incumbent):
    # given: two deals, each with a table
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kam.opportunities.facts import _competition

    other = _ok(
        rep.post(
            "opportunities",
            {"account_id": _ok(rep.get(f"opportunities/{deal_id}"))["account_id"],
             "name": "拉链", "amount": 1, "expected_close": "2027-06-30"},
        ),
        201,
    )["id"]  # fmt: skip
    _ok(rep.put(f"opportunities/{deal_id}/competition", {"scores": {"us": {"price": 3}}}))
    _ok(
        rep.put(
            f"opportunities/{other}/competition",
            {"scores": {str(incumbent): {"brand": 4}, "us": {"brand": 2, "price": 5}}},
        )
    )
    # when
    with CaptureQueriesContext(connection) as seen:
        found = _competition([deal_id, other])
    # then: us first, then the rivals
    assert len(seen.captured_queries) == 1
    assert found == {
        deal_id: (CompetitionFacts(None, "", {"price": 3}),),
        other: (
            CompetitionFacts(None, "", {"brand": 2, "price": 5}),
            CompetitionFacts(incumbent, "常州精工", {"brand": 4}),
        ),
    }
