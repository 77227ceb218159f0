"""The process engine in the web UI: the opportunity page (stage path, key-node
checklist, advance / force / close, buyer stage, evaluation, priority, criteria,
milestones, stakeholders, history) and the pipeline board with its advance
endpoint. Every write goes through a service; a refused one changes nothing."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse

from kam.accounts.services import account_create
from kam.contacts.services import contact_create
from kam.core.models import Event
from kam.opportunities import process
from kam.opportunities.assess import assess
from kam.opportunities.models import Evaluation, Milestone, Opportunity, PurchaseCriterion
from kam.opportunities.services import opportunity_create
from kam.stakeholders.models import Stakeholder
from kam.stakeholders.services import stakeholder_add

GOOD = {
    "project_grade": 4,
    "funding": 4,
    "technical_fit": 4,
    "relationship": 4,
    "credit": 4,
    "product": 4,
    "price": 4,
    "solution": 4,
    "service": 4,
}


def _state(opp):
    """What a refused request must leave as it was."""
    fresh = Opportunity.objects.get(pk=opp.pk)
    return (
        fresh.stage,
        fresh.status,
        fresh.stage_entered_at,
        fresh.priority,
        Event.objects.count(),
        Evaluation.objects.count(),
        PurchaseCriterion.objects.count(),
        Milestone.objects.count(),
        Stakeholder.objects.count(),
    )


def _soon() -> dt.date:
    return dt.date.today() + dt.timedelta(days=60)


@pytest.fixture
def deal(people, books):
    """rep_a's deal at development, closing in two months (so a good evaluation is A)."""
    opp = books["rep_a"].opportunity
    from kam.opportunities.services import opportunity_update

    opportunity_update(actor=people.rep_a, opportunity=opp, expected_close=_soon())
    return Opportunity.objects.get(pk=opp.pk)


@pytest.fixture
def five(people):
    """A deal of rep_a on the milestones-5 playbook."""
    account = account_create(actor=people.rep_a, name="Delta Foundry")
    contact_create(actor=people.rep_a, account=account, name="Delta Director")
    return opportunity_create(
        actor=people.rep_a,
        account=account,
        name="Delta casting line",
        amount="800000",
        expected_close=_soon(),
        playbook="milestones-5",
    )


def _detail(client, opp):
    return client.get(reverse("opportunity-detail", args=[opp.pk]))


def _field_block(html: str, name: str) -> str:
    """The rendered field `name` (form_fields.html): from its box to the next field's."""
    start = html.index(f'data-field="{name}"')
    end = html.find('data-field="', start + 1)
    return html[start : end if end != -1 else start + 3000]


# --- the page ----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("playbook", ["standard-6", "milestones-5"])
def test_page_renders_for_both_playbooks_in_both_languages(
    client_for, people, deal, five, playbook, language
):
    # given
    opp = deal if playbook == "standard-6" else five
    client = client_for(people.rep_a, language=language)
    # when
    response = _detail(client, opp)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    steps = {"standard-6": 6, "milestones-5": 5}[playbook]
    assert html.count('data-testid="path-step"') == steps
    first = {
        ("standard-6", "en"): ("Development", "Find leads before or after the customer"),
        ("standard-6", "zh-hans"): ("开发阶段", "在客户立项前后发现线索"),
        ("milestones-5", "en"): ("Lead confirmation", "Confirm the lead is real"),
        ("milestones-5", "zh-hans"): ("线索确认", "确认线索真实"),
    }[(playbook, language)]
    assert first[0] in html
    assert first[1] in html
    assert 'data-testid="gate-checklist"' in html
    assert html.count('data-testid="gate-item"') == 2
    assert 'data-testid="evaluation-form"' in html
    assert 'data-testid="milestone-form"' in html
    assert 'data-testid="stakeholder-form"' in html
    assert 'data-testid="criterion-form"' in html
    assert 'data-testid="close-dialog"' in html
    guide = "1 = 看不到资金" if language == "zh-hans" else "1 = no budget in sight"
    assert guide in html


def test_checklist_shows_what_is_missing(client_for, people, deal):
    # given
    client = client_for(people.rep_a)
    # when
    html = _detail(client, deal).content.decode()
    # then
    assert 'data-key="evaluation_passed" data-met="false"' in html
    assert 'data-key="priority_assigned" data-met="false"' in html
    assert "No evaluation yet: score the deal with the evaluation model." in html
    assert "No priority yet: it is graded as soon as an evaluation exists." in html
    assert "0 of 2 met" in html
    assert "Advance to Sales entry" in html
    assert html.count('data-testid="gate-fix"') == 2
    assert '<a href="#evaluation" class="fix-link" data-testid="gate-fix">' in html


def test_checklist_ticks_met_items(client_for, people, deal):
    # given
    process.evaluation_record(actor=people.rep_a, opportunity=deal, scores=GOOD)
    client = client_for(people.rep_a)
    # when
    html = _detail(client, deal).content.decode()
    # then
    assert 'data-key="evaluation_passed" data-met="true"' in html
    assert 'data-key="priority_assigned" data-met="true"' in html
    assert "Passed with 80 points." in html
    assert "2 of 2 met" in html


def test_advance_refused_shows_the_unmet_list_and_changes_nothing(client_for, people, deal):
    # given
    client = client_for(people.rep_a)
    before = _state(deal)
    # when
    response = client.post(
        reverse("opportunity-advance", args=[deal.pk]), {"from_stage": "development"}
    )
    # then
    html = response.content.decode()
    assert response.status_code == 409
    assert 'data-testid="advance-refusal"' in html
    assert "Not moved: the key node of Development is not met yet. Missing:" in html
    assert html.count('data-testid="refusal-item"') == 2
    assert "<strong>Evaluation recorded and passed</strong>" in html
    assert "<strong>Priority grade assigned</strong>" in html
    assert _state(deal) == before


def test_advance_with_the_gate_met_moves_and_records(client_for, people, deal):
    # given
    process.evaluation_record(actor=people.rep_a, opportunity=deal, scores=GOOD)
    client = client_for(people.rep_a)
    # when
    response = client.post(
        reverse("opportunity-advance", args=[deal.pk]), {"from_stage": "development"}, follow=True
    )
    # then
    html = response.content.decode()
    assert response.redirect_chain[0][1] == 302
    assert Opportunity.objects.get(pk=deal.pk).stage == "entry"
    assert "Moved to Sales entry." in html
    assert "<strong>Moved to the next stage</strong>" in html


def test_a_stale_page_cannot_skip_a_stage(client_for, people, deal):
    # given: the page was opened at development; someone advanced it meanwhile
    process.evaluation_record(actor=people.rep_a, opportunity=deal, scores=GOOD)
    process.opportunity_advance(actor=people.rep_a, opportunity=deal)
    client = client_for(people.rep_a)
    before = _state(deal)
    # when
    response = client.post(
        reverse("opportunity-advance", args=[deal.pk]), {"from_stage": "development"}
    )
    # then
    assert response.status_code == 409
    assert "Someone moved this deal meanwhile" in response.content.decode()
    assert _state(deal) == before


def test_manager_sees_force_and_forces_with_a_reason(client_for, people, deal):
    # given
    client = client_for(people.manager_east)
    assert 'data-testid="force-open"' in _detail(client, deal).content.decode()
    # when
    response = client.post(
        reverse("opportunity-advance", args=[deal.pk]),
        {"from_stage": "development", "force": "1", "reason": "客户高层已口头确认"},
        follow=True,
    )
    # then
    html = response.content.decode()
    opp = Opportunity.objects.get(pk=deal.pk)
    assert opp.stage == "entry"
    assert opp.forced_moves.get().reason == "客户高层已口头确认"
    assert "Forced from Development into Sales entry." in html
    assert 'data-action="force_advanced"' in html
    assert "<strong>Forced into the next stage</strong>" in html
    assert "Reason: 客户高层已口头确认" in html
    assert "Unmet when forced: <span" in html
    assert "Evaluation recorded and passed, Priority grade assigned" in html
    assert "Forced past the Development gate" in html  # the alert and its factor
    assert "×0.5" in html


def test_force_without_a_reason_shows_the_field_error_and_changes_nothing(client_for, people, deal):
    # given
    client = client_for(people.manager_east)
    before = _state(deal)
    # when
    response = client.post(
        reverse("opportunity-advance", args=[deal.pk]),
        {"from_stage": "development", "force": "1", "reason": "  "},
    )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="force-dialog"' in html
    assert "data-open-on-load" in html
    assert "This field is required." in html
    assert _state(deal) == before


def test_rep_cannot_see_force_and_a_forged_force_is_403(client_for, people, deal):
    # given
    client = client_for(people.rep_a)
    html = _detail(client, deal).content.decode()
    assert 'data-testid="force-open"' not in html
    assert 'id="force-dialog"' not in html
    before = _state(deal)
    # when
    response = client.post(
        reverse("opportunity-advance", args=[deal.pk]),
        {"from_stage": "development", "force": "1", "reason": "just because"},
    )
    # then
    assert response.status_code == 403
    assert _state(deal) == before


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("opportunity-advance", {"from_stage": "development"}),
        ("opportunity-close", {"outcome": "lost", "reason": "x"}),
        ("opportunity-buyer-stage", {"buyer_stage": "search"}),
        ("opportunity-evaluation", GOOD),
        ("opportunity-priority", {"grade": "A", "reason": "x"}),
        ("criterion-add", {"text": "x"}),
        ("milestone-record", {"kind": "candidate_confirmed"}),
    ],
)
def test_other_users_get_404_and_nothing_changes(client_for, people, deal, url_name, data):
    # given
    client = client_for(people.rep_c)
    before = _state(deal)
    # when
    response = client.post(reverse(url_name, args=[deal.pk]), data)
    # then
    assert response.status_code == 404
    assert _state(deal) == before


def test_process_urls_refuse_get(client_for, people, deal):
    client = client_for(people.rep_a)
    response = client.get(reverse("opportunity-advance", args=[deal.pk]))
    assert response.status_code == 405


# --- close ---------------------------------------------------------------------------


def test_close_lost_with_a_reason(client_for, people, deal):
    # given
    client = client_for(people.rep_a)
    # when
    response = client.post(
        reverse("opportunity-close", args=[deal.pk]),
        {"outcome": "lost", "reason": "lowest price, lost to the design department's pick"},
        follow=True,
    )
    # then
    html = response.content.decode()
    opp = Opportunity.objects.get(pk=deal.pk)
    assert (opp.status, opp.close_reason) == (
        "lost",
        "lowest price, lost to the design department's pick",
    )
    assert "The opportunity is closed: Lost." in html
    assert 'data-testid="advance"' not in html
    assert "<strong>0%</strong>" in html


def test_close_without_a_reason_shows_the_field_error(client_for, people, deal):
    # given
    client = client_for(people.rep_a)
    before = _state(deal)
    # when
    response = client.post(
        reverse("opportunity-close", args=[deal.pk]), {"outcome": "abandoned", "reason": ""}
    )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="close-dialog"' in html and "data-open-on-load" in html
    assert "This field is required." in html
    assert _state(deal) == before


def test_won_is_not_offered_before_the_contract(client_for, people, deal):
    # given
    client = client_for(people.rep_a)
    before = _state(deal)
    # when
    html = _detail(client, deal).content.decode()
    forged = client.post(
        reverse("opportunity-close", args=[deal.pk]), {"outcome": "won", "reason": ""}
    )
    # then
    assert 'value="won"' not in html
    assert 'data-testid="win-explanation"' in html
    assert "A deal is won by signing" in html
    assert "The key node of Commercial negotiation asks for: Contract approved and signed" in html
    assert forged.status_code == 200
    assert "Select a valid choice" in forged.content.decode()
    assert _state(deal) == before


# --- buyer stage ---------------------------------------------------------------------


def test_buyer_stage_selector_changes_the_stage_and_the_verdict(client_for, people, deal):
    # given
    client = client_for(people.rep_a)
    assert 'data-verdict="aligned"' in _detail(client, deal).content.decode()
    # when
    response = client.post(
        reverse("opportunity-buyer-stage", args=[deal.pk]),
        {"buyer_stage": "evaluation"},
        follow=True,
    )
    # then
    html = response.content.decode()
    assert Opportunity.objects.get(pk=deal.pk).buyer_stage == "evaluation"
    assert 'data-verdict="behind_buyer"' in html
    assert "Behind the customer by 3 stage(s)" in html
    assert 'data-code="behind_buyer"' in html  # the alert
    assert "<strong>Buyer stage changed</strong>" in html


def test_buyer_stage_bad_value_is_a_field_error(client_for, people, deal):
    client = client_for(people.rep_a)
    before = _state(deal)
    response = client.post(
        reverse("opportunity-buyer-stage", args=[deal.pk]), {"buyer_stage": "nowhere"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert _state(deal) == before


# --- evaluation and priority ---------------------------------------------------------


def test_evaluation_form_scores_and_grades(client_for, people, deal):
    # given
    client = client_for(people.rep_a)
    # when
    response = client.post(reverse("opportunity-evaluation", args=[deal.pk]), GOOD, follow=True)
    # then
    html = response.content.decode()
    evaluation = Evaluation.objects.get(opportunity=deal)
    assert (float(evaluation.score), evaluation.passed) == (80.0, True)
    assert Opportunity.objects.get(pk=deal.pk).priority == "A"
    assert "Evaluation saved: 80.0 points, passed." in html
    assert '<strong class="big-number" data-testid="evaluation-score">80.0</strong>' in html
    assert "All-out: run the full process" in html  # grade A's action
    assert "<strong>Evaluation: Evaluated</strong>" in html
    assert "<strong>Priority changed</strong>" in html


def test_evaluation_knock_out_is_shown(client_for, people, deal):
    client = client_for(people.rep_a)
    client.post(reverse("opportunity-evaluation", args=[deal.pk]), {**GOOD, "funding": 1})
    html = _detail(client, deal).content.decode()
    assert "not passed" in html
    assert "Knocked out: Funding risk: the customer may not be able to pay." in html


def test_evaluation_missing_factor_shows_the_error_on_that_factor(client_for, people, deal):
    # given
    client = client_for(people.rep_a)
    before = _state(deal)
    data = {k: v for k, v in GOOD.items() if k != "credit"}
    # when
    response = client.post(reverse("opportunity-evaluation", args=[deal.pk]), data)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    row = html[html.index('data-factor="credit"') :]
    row = row[: row.index("</tr>")]
    assert "Score Customer credit from 1 to 5." in row
    assert _state(deal) == before


def test_evaluation_out_of_range_is_refused(client_for, people, deal):
    client = client_for(people.rep_a)
    before = _state(deal)
    response = client.post(reverse("opportunity-evaluation", args=[deal.pk]), {**GOOD, "price": 9})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert _state(deal) == before


def test_manager_overrides_the_priority_with_a_reason(client_for, people, deal):
    # given
    process.evaluation_record(actor=people.rep_a, opportunity=deal, scores=GOOD)
    client = client_for(people.manager_east)
    # when
    response = client.post(
        reverse("opportunity-priority", args=[deal.pk]),
        {"grade": "C", "reason": "budget frozen until Q3"},
        follow=True,
    )
    # then
    html = response.content.decode()
    opp = Opportunity.objects.get(pk=deal.pk)
    assert (opp.priority, opp.priority_overridden) == ("C", True)
    assert "Set by a manager: budget frozen until Q3" in html
    assert "Maintain contact and watch for changes" in html


def test_priority_override_needs_a_reason(client_for, people, deal):
    client = client_for(people.manager_east)
    before = _state(deal)
    response = client.post(
        reverse("opportunity-priority", args=[deal.pk]), {"grade": "B", "reason": ""}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in html
    assert _state(deal) == before


def test_rep_has_no_override_and_a_forged_one_is_403(client_for, people, deal):
    client = client_for(people.rep_a)
    assert 'data-testid="priority-form"' not in _detail(client, deal).content.decode()
    before = _state(deal)
    response = client.post(
        reverse("opportunity-priority", args=[deal.pk]), {"grade": "A", "reason": "mine"}
    )
    assert response.status_code == 403
    assert _state(deal) == before


# --- criteria, milestones, stakeholders -------------------------------------------


def test_criteria_add_list_and_delete(client_for, people, deal):
    # given
    client = client_for(people.rep_a)
    # when
    client.post(
        reverse("criterion-add", args=[deal.pk]),
        {"text": "Spindle accuracy ≤ 2 µm", "shaped_by_us": "on", "favourable": "yes"},
    )
    response = client.post(
        reverse("criterion-add", args=[deal.pk]),
        {"text": "Delivery in 60 days", "favourable": "no"},
        follow=True,
    )
    # then
    html = response.content.decode()
    criteria = list(PurchaseCriterion.objects.filter(opportunity=deal).order_by("id"))
    assert [(c.text, c.shaped_by_us, c.favourable) for c in criteria] == [
        ("Spindle accuracy ≤ 2 µm", True, True),
        ("Delivery in 60 days", False, False),
    ]
    assert html.count('data-testid="criterion-row"') == 2
    assert "shaped by us" in html and "against us" in html
    assert "<strong>Purchase criterion: Created</strong>" in html
    # when deleted
    response = client.post(reverse("criterion-delete", args=[deal.pk, criteria[1].pk]), follow=True)
    # then
    assert PurchaseCriterion.objects.filter(opportunity=deal).count() == 1
    assert "<strong>Purchase criterion: Deleted</strong>" in response.content.decode()


def test_criterion_without_text_shows_the_field_error(client_for, people, deal):
    client = client_for(people.rep_a)
    before = _state(deal)
    response = client.post(reverse("criterion-add", args=[deal.pk]), {"text": " "})
    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in _field_block(html, "text")
    assert _state(deal) == before


def test_criterion_of_another_deal_cannot_be_deleted_through_this_one(
    client_for, people, deal, books
):
    other = books["rep_b"].opportunity
    criterion = process.criterion_add(actor=people.rep_b, opportunity=other, text="theirs")
    client = client_for(people.rep_a)
    response = client.post(reverse("criterion-delete", args=[deal.pk, criterion.pk]))
    assert response.status_code == 404
    assert PurchaseCriterion.objects.filter(pk=criterion.pk).exists()


def test_milestone_record_with_price_and_margin(client_for, people, deal):
    # given
    client = client_for(people.rep_a)
    # when
    response = client.post(
        reverse("milestone-record", args=[deal.pk]),
        {
            "kind": "bid_submitted",
            "date": dt.date.today().isoformat(),
            "price": "980000",
            "margin": "18.5",
            "note": "议标",
        },
        follow=True,
    )
    # then
    html = response.content.decode()
    milestone = Milestone.objects.get(opportunity=deal)
    assert (milestone.kind, str(milestone.price), str(milestone.margin)) == (
        "bid_submitted",
        "980000.00",
        "18.50",
    )
    assert "Milestone recorded." in html
    assert "CNY\u00a0980,000.00" in html
    assert "18.5%" in html
    assert "<strong>Milestone: Recorded</strong>" in html


def test_milestone_form_marks_which_kinds_ask_for_price_and_margin(client_for, people, deal):
    html = _detail(client_for(people.rep_a), deal).content.decode()
    assert 'value="bid_submitted" data-fields="price margin"' in html
    assert 'value="contract_signed" data-fields="price"' in html
    assert 'value="candidate_confirmed" data-fields=""' in html


def test_milestone_price_is_ignored_for_kinds_that_do_not_ask_for_it(client_for, people, deal):
    client = client_for(people.rep_a)
    client.post(
        reverse("milestone-record", args=[deal.pk]),
        {"kind": "candidate_confirmed", "price": "123"},
    )
    milestone = Milestone.objects.get(opportunity=deal)
    assert (milestone.kind, milestone.price, milestone.date) == (
        "candidate_confirmed",
        None,
        dt.date.today(),
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"kind": "bid_submitted", "date": (_soon()).isoformat()},
            "date",
            "the date cannot be in the future",
        ),
        ({"kind": "bid_submitted", "date": "01/02/2026"}, "date", "Enter a date as YYYY-MM-DD."),
        ({"kind": "bid_submitted", "price": "lots"}, "price", "Enter a number"),
        ({"kind": "bid_submitted", "margin": "150"}, "margin", "from -100 to 100"),
        ({"kind": "no_such_kind"}, "kind", "Select a valid choice"),
    ],
)
def test_milestone_bad_input_shows_the_field_error(client_for, people, deal, data, field, message):
    client = client_for(people.rep_a)
    before = _state(deal)
    response = client.post(reverse("milestone-record", args=[deal.pk]), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in _field_block(html, field)
    assert _state(deal) == before


def test_milestone_delete(client_for, people, deal):
    milestone = process.milestone_record(
        actor=people.rep_a, opportunity=deal, kind="candidate_confirmed"
    )
    client = client_for(people.rep_a)
    response = client.post(reverse("milestone-delete", args=[deal.pk, milestone.pk]), follow=True)
    assert not Milestone.objects.filter(pk=milestone.pk).exists()
    assert "<strong>Milestone: Deleted</strong>" in response.content.decode()


def test_stakeholder_add_meets_the_entry_gate_items(client_for, people, books, deal):
    # given: the deal forced into entry, whose gate wants a coach and a decision maker
    process.opportunity_advance(
        actor=people.manager_east, opportunity=deal, force=True, reason="test"
    )
    book = books["rep_a"]
    client = client_for(people.rep_a)
    # when
    client.post(
        reverse("stakeholder-add", args=[deal.pk]),
        {"contact": book.boss.pk, "roles": ["decision_maker"], "stance": "supporter"},
    )
    response = client.post(
        reverse("stakeholder-add", args=[deal.pk]),
        {
            "contact": book.report.pk,
            "roles": ["technical", "user"],
            "stance": "champion",
            "is_coach": "on",
        },
        follow=True,
    )
    # then
    html = response.content.decode()
    people_on_deal = {
        s.contact_id: (s.roles, s.stance, s.is_coach)
        for s in Stakeholder.objects.filter(opportunity=deal)
    }
    assert people_on_deal == {
        book.boss.pk: (["decision_maker"], "supporter", False),
        book.report.pk: (["technical", "user"], "champion", True),
    }
    assert html.count('data-testid="stakeholder-row"') == 2
    assert 'data-key="coach" data-met="true"' in html
    assert 'data-key="decision_maker" data-met="true"' in html
    assert 'data-key="candidate_confirmed" data-met="false"' in html
    assert "Technical evaluator, User" in html
    assert "<strong>Buying centre: Created</strong>" in html
    assert "Every active contact of the account is already here." in html


def test_stakeholder_from_another_account_is_refused_on_the_field(client_for, people, books, deal):
    # given
    stranger = books["rep_b"].boss
    client = client_for(people.rep_a)
    before = _state(deal)
    # when
    response = client.post(
        reverse("stakeholder-add", args=[deal.pk]),
        {"contact": stranger.pk, "roles": ["decision_maker"], "stance": "neutral"},
    )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice" in _field_block(html, "contact")
    assert _state(deal) == before


def test_stakeholder_remove(client_for, people, books, deal):
    s = stakeholder_add(
        actor=people.rep_a, opportunity=deal, contact=books["rep_a"].boss, roles=["user"]
    )
    client = client_for(people.rep_a)
    response = client.post(reverse("stakeholder-remove", args=[deal.pk, s.pk]), follow=True)
    assert not Stakeholder.objects.filter(pk=s.pk).exists()
    assert "<strong>Buying centre: Deleted</strong>" in response.content.decode()


# --- alerts and win probability ----------------------------------------------------


def test_alerts_show_title_message_action_and_severity(client_for, people, deal):
    # given: forced past development while the customer is still at "need"
    process.opportunity_advance(
        actor=people.manager_east, opportunity=deal, force=True, reason="客户高层已口头确认"
    )
    client = client_for(people.rep_a)
    # when
    html = _detail(client, deal).content.decode()
    # then
    assert 'data-code="forced_gate" data-severity="high"' in html
    assert 'data-code="ahead_of_buyer"' in html
    assert "What to do:" in html
    assert "Meet the missing items" in html
    found = assess(Opportunity.objects.get(pk=deal.pk))
    assert f"<strong>{found.probability}%</strong>" in html
    assert found.probability < 20
    assert html.count('data-testid="probability-factor"') == len(found.factors)
    assert "Base probability of the stage" in html


def test_win_probability_factors_in_chinese_use_the_stage_names(client_for, people, deal):
    process.opportunity_advance(
        actor=people.manager_east, opportunity=deal, force=True, reason="客户高层已口头确认"
    )
    html = _detail(client_for(people.rep_a, language="zh-hans"), deal).content.decode()
    # the alert title names the stage in Chinese from the playbook file
    assert "开发阶段" in html
    assert "×0.5" in html


# --- the board ----------------------------------------------------------------------


def _many_deals(rep, n: int, playbook: str = "standard-6"):
    account = account_create(actor=rep, name=f"Bulk {rep.username} {playbook}")
    contact = contact_create(actor=rep, account=account, name="Bulk buyer")
    out = []
    for i in range(n):
        opp = opportunity_create(
            actor=rep,
            account=account,
            name=f"Bulk deal {i}",
            amount=str(1000 * (i + 1)),
            expected_close=_soon(),
            playbook=playbook,
        )
        if i % 3 == 0:
            process.evaluation_record(actor=rep, opportunity=opp, scores=GOOD)
        if i % 4 == 0:
            stakeholder_add(actor=rep, opportunity=opp, contact=contact, roles=["user"])
        out.append(opp)
    return out


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_board_renders_columns_and_cards(client_for, people, deal, five, language):
    # given
    client = client_for(people.rep_a, language=language)
    # when
    response = client.get(reverse("opportunity-board"))
    five_board = client.get(reverse("opportunity-board") + "?playbook=milestones-5")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="board-column"') == 6
    assert html.count('data-testid="board-card"') == 1
    assert "Alpha Press line" in html and "Alpha Steel Works" in html
    assert "Bravo Press line" not in html  # rep_b's
    assert ("开发阶段" if language == "zh-hans" else "Development") in html
    assert 'aria-current="page">' in html
    five_html = five_board.content.decode()
    assert five_html.count('data-testid="board-column"') == 5
    assert "Delta casting line" in five_html and "Alpha Press line" not in five_html


def test_board_manager_sees_the_team(client_for, people, books):
    html = client_for(people.manager_east).get(reverse("opportunity-board")).content.decode()
    assert "Alpha Press line" in html and "Bravo Press line" in html
    assert "Charlie Press line" not in html


def test_board_query_count_does_not_grow_with_cards(
    client_for, people, django_assert_max_num_queries
):
    # given: 3 deals, then 30
    client = client_for(people.rep_a)
    _many_deals(people.rep_a, 3)
    client.get(reverse("opportunity-board"))  # warm the session and the methodology
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("opportunity-board")).status_code == 200
    _many_deals(people.rep_a, 27)
    # when / then
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("opportunity-board"))
    assert response.content.decode().count('data-testid="board-card"') == 30
    # the cards' ids take one query per column (standard-6 has six), their rows one
    assert len(few.captured_queries) <= 19


def test_board_limits_cards_per_column_with_a_more_link(client_for, people, monkeypatch):
    from kam.web.views import board

    monkeypatch.setattr(board, "CARD_LIMIT", 4)
    _many_deals(people.rep_a, 6)
    html = client_for(people.rep_a).get(reverse("opportunity-board")).content.decode()
    assert html.count('data-testid="board-card"') == 4
    assert "2 more in the list…" in html
    assert "/opportunities/?status=open&amp;stage=standard-6%3Adevelopment" in html


def test_each_column_shows_its_earliest_closing_deals_in_order(client_for, people, monkeypatch):
    """Each column picks its own first cards (by expected close, then id), whatever
    the other columns hold."""
    from kam.web.views import board

    # given: 2 cards per column; 4 deals in development and 3 in proposal, out of order
    monkeypatch.setattr(board, "CARD_LIMIT", 2)
    account = account_create(actor=people.rep_a, name="Column order")
    made = {}
    for stage, days in [("development", [9, 3, 7, 3]), ("proposal", [5, 1, 8])]:
        for i, d in enumerate(days):
            made[stage, i] = opportunity_create(
                actor=people.rep_a,
                account=account,
                name=f"{stage} {i}",
                amount="1000",
                expected_close=_soon() + dt.timedelta(days=d),
                stage=stage,
            )
    # when
    html = client_for(people.rep_a).get(reverse("opportunity-board")).content.decode()
    # then: development shows the two due in 3 days (lower id first), proposal 1 then 5
    shown = re.findall(r'data-id="(\d+)" data-stage="(\w+)"', html)
    assert [(int(pk), stage) for pk, stage in shown] == [
        (made["development", 1].pk, "development"),
        (made["development", 3].pk, "development"),
        (made["proposal", 1].pk, "proposal"),
        (made["proposal", 0].pk, "proposal"),
    ]


def _board_post(client, opp, data, **headers):
    return client.post(reverse("board-advance", args=[opp.pk]), data, **headers)


JSON = {"HTTP_ACCEPT": "application/json"}


def test_board_advance_refused_answers_409_with_the_gate(client_for, people, deal):
    # given
    client = client_for(people.rep_a)
    before = _state(deal)
    # when
    response = _board_post(client, deal, {"from_stage": "development", "to_stage": "entry"}, **JSON)
    # then
    body = response.json()
    assert response.status_code == 409
    assert body["ok"] is False
    assert body["code"] == "gate_unmet"
    assert body["unmet"] == ["evaluation_passed", "priority_assigned"]
    assert [c["label"] for c in body["criteria"] if not c["met"]] == [
        "Evaluation recorded and passed",
        "Priority grade assigned",
    ]
    assert 'data-testid="card-refusal"' in body["html"]
    assert "Not moved: the key node of Development is not met yet. Missing:" in body["html"]
    assert body["html"].count('data-testid="card-unmet"') == 2
    assert 'data-testid="card-force"' not in body["html"]  # a rep
    assert _state(deal) == before


def test_board_refusal_offers_force_to_a_manager(client_for, people, deal):
    client = client_for(people.manager_east)
    response = _board_post(client, deal, {"from_stage": "development", "to_stage": "entry"}, **JSON)
    assert response.status_code == 409
    assert 'data-testid="card-force"' in response.json()["html"]


def test_board_advance_met_answers_200_and_moves(client_for, people, deal):
    # given
    process.evaluation_record(actor=people.rep_a, opportunity=deal, scores=GOOD)
    client = client_for(people.rep_a)
    # when
    response = _board_post(client, deal, {"from_stage": "development", "to_stage": "entry"}, **JSON)
    # then
    body = response.json()
    assert response.status_code == 200
    assert (body["ok"], body["stage"], body["stage_name"]) == (True, "entry", "Sales entry")
    assert 'data-stage="entry"' in body["html"]
    assert Opportunity.objects.get(pk=deal.pk).stage == "entry"


@pytest.mark.parametrize("to_stage", ["proposal", "development"])
def test_board_refuses_a_non_adjacent_drop(client_for, people, deal, to_stage):
    # given: everything met, so only the distance can refuse it
    process.evaluation_record(actor=people.rep_a, opportunity=deal, scores=GOOD)
    client = client_for(people.rep_a)
    before = _state(deal)
    # when
    response = _board_post(
        client, deal, {"from_stage": "development", "to_stage": to_stage}, **JSON
    )
    # then
    body = response.json()
    assert response.status_code == 409
    assert body["code"] == "not_adjacent"
    if to_stage == "proposal":
        assert "One stage at a time" in body["message"]
    else:
        assert "already in this column" in body["message"]
    assert "Sales entry" in body["message"] or to_stage == "development"
    assert _state(deal) == before


def test_board_force_by_a_manager_with_a_reason(client_for, people, deal):
    client = client_for(people.manager_east)
    response = _board_post(
        client,
        deal,
        {"from_stage": "development", "to_stage": "entry", "force": "1", "reason": "高层已确认"},
        **JSON,
    )
    body = response.json()
    assert response.status_code == 200
    assert (body["ok"], body["code"], body["stage"]) == (True, "forced", "entry")
    assert body["probability"] == assess(Opportunity.objects.get(pk=deal.pk)).probability
    assert Opportunity.objects.get(pk=deal.pk).forced_moves.get().reason == "高层已确认"


def test_board_force_without_a_reason_is_422_on_the_reason(client_for, people, deal):
    client = client_for(people.manager_east)
    before = _state(deal)
    response = _board_post(
        client,
        deal,
        {"from_stage": "development", "to_stage": "entry", "force": "1", "reason": ""},
        **JSON,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "reason"
    assert _state(deal) == before


def test_board_forged_force_by_a_rep_is_403(client_for, people, deal):
    client = client_for(people.rep_a)
    before = _state(deal)
    response = _board_post(
        client,
        deal,
        {"from_stage": "development", "to_stage": "entry", "force": "1", "reason": "mine"},
        **JSON,
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert _state(deal) == before


def test_board_advance_on_an_invisible_deal_is_404(client_for, people, deal):
    client = client_for(people.rep_c)
    before = _state(deal)
    response = _board_post(client, deal, {"from_stage": "development", "to_stage": "entry"}, **JSON)
    assert response.status_code == 404
    assert _state(deal) == before


def test_board_advance_answers_htmx_with_the_card_html(client_for, people, deal):
    client = client_for(people.rep_a)
    response = _board_post(
        client, deal, {"from_stage": "development", "to_stage": "entry"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    assert html.lstrip().startswith("<li")
    assert 'data-testid="card-refusal"' in html


def test_board_advance_without_javascript_redirects_with_a_message(client_for, people, deal):
    client = client_for(people.rep_a)
    response = _board_post(
        client, deal, {"from_stage": "development", "to_stage": "entry"}, follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0].startswith(reverse("opportunity-board"))
    assert "The key node of Development is not met yet" in html
    assert "No evaluation yet" in html


def test_board_answers_in_chinese(client_for, people, deal):
    client = client_for(people.rep_a, language="zh-hans")
    response = _board_post(client, deal, {"from_stage": "development", "to_stage": "entry"}, **JSON)
    assert response.status_code == 409
    assert "开发阶段" in response.json()["message"]
    json.dumps(response.json(), ensure_ascii=False)


def test_board_advance_from_the_winning_stage_wins(client_for, people, five):
    # given: milestones-5 at contract signing (its winning, last stage) with the contract
    for _ in range(4):
        process.opportunity_advance(
            actor=people.manager_east, opportunity=five, force=True, reason="test"
        )
    process.milestone_record(actor=people.rep_a, opportunity=five, kind="contract_signed")
    five.refresh_from_db()
    assert five.stage == "contract_signing"
    client = client_for(people.rep_a)
    # when
    response = _board_post(
        client,
        five,
        {"from_stage": "contract_signing", "to_stage": "contract_signing"},
        **JSON,
    )
    # then
    assert response.status_code == 200
    assert Opportunity.objects.get(pk=five.pk).status == "won"
    assert "the deal is won" in response.json()["message"]


def test_nav_links_to_the_board(client_for, people):
    html = client_for(people.rep_a).get(reverse("home")).content.decode()
    assert 'data-testid="nav-board"' in html


def test_a_won_project_is_completed_after_acceptance(client_for, people, deal):
    # given: rep_a's deal signed and won, now in implementation
    opp = opportunity_create(actor=people.rep_a, account=deal.account, name="交付项目",
                             amount="1", expected_close=_soon(), stage="negotiation")
    process.milestone_record(actor=people.rep_a, opportunity=opp, kind="contract_signed")
    process.opportunity_advance(actor=people.rep_a, opportunity=opp)
    client = client_for(people.rep_a)
    url = reverse("opportunity-detail", args=[opp.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="complete"' in page
    # when: completing without acceptance is refused, with acceptance it works
    refused = client.post(reverse("opportunity-advance", args=[opp.pk]),
                          {"from_stage": "implementation"})
    assert refused.status_code == 409
    assert Opportunity.objects.get(pk=opp.pk).completed_at is None
    process.milestone_record(actor=people.rep_a, opportunity=opp, kind="acceptance")
    done = client.post(reverse("opportunity-advance", args=[opp.pk]),
                       {"from_stage": "implementation"})
    # then
    assert done.status_code == 302
    assert Opportunity.objects.get(pk=opp.pk).completed_at is not None
    page = client.get(url).content.decode()
    assert 'data-testid="completed"' in page and 'data-testid="complete"' not in page
