"""Every page renders for the record's owner and shows the record."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kam.core.models import Event


def test_healthz_answers_ok_without_login(client_for, db):
    # given
    client = client_for()
    # when
    response = client.get("/healthz")
    # then
    assert response.status_code == 200
    assert response.content == b"ok"


def test_login_page_renders_the_django_field_names(client_for, db):
    # given
    client = client_for()
    # when
    response = client.get(reverse("login"))
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert 'data-testid="login-form"' in html


def test_pages_need_a_login(client_for, books):
    # given
    client = client_for()
    # when
    response = client.get(reverse("opportunity-detail", args=[books["rep_a"].opportunity.pk]))
    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_signing_in_leads_home(client_for, people):
    # given
    client = client_for()
    # when
    response = client.post(
        reverse("login"), {"username": "w_rep_a", "password": "web-pass-123"}, follow=True
    )
    # then
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("home"), 302)]
    assert "Alice Rep" in response.content.decode()


def test_sign_out_is_a_post(client_for, people):
    # given
    client = client_for(people.rep_a)
    # when
    response = client.post(reverse("logout"))
    # then
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_home_lists_open_opportunities_and_counts_by_stage(client_for, people, books):
    # given
    client = client_for(people.rep_a)
    # when
    response = client.get(reverse("home"))
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "Alpha Press line" in html
    assert "Bravo Press line" not in html
    assert 'data-testid="stage-counts"' in html
    assert "1 open opportunity" in html
    assert 'aria-current="page">Home<' in html


@pytest.mark.parametrize(
    ("url_name", "record", "expected_text"),
    [
        ("account-list", None, "Alpha Steel Works"),
        ("account-detail", "account", "Alpha Steel Works"),
        ("account-edit", "account", "Alpha Steel Works"),
        ("contact-create", "account", "Alpha Steel Works"),
        ("contact-edit", "report", "Alpha Engineer"),
        ("opportunity-list", None, "Alpha Press line"),
        ("opportunity-detail", "opportunity", "Alpha Press line"),
        ("opportunity-edit", "opportunity", "Alpha Press line"),
        ("account-create", None, "New account"),
    ],
)
def test_page_renders_for_the_owner(client_for, people, books, url_name, record, expected_text):
    # given
    client = client_for(people.rep_a)
    args = [getattr(books["rep_a"], record).pk] if record else []
    # when
    response = client.get(reverse(url_name, args=args))
    # then
    assert response.status_code == 200
    assert expected_text in response.content.decode()


def test_opportunity_create_page_renders_for_the_account(client_for, people, books):
    # given
    client = client_for(people.rep_a)
    account = books["rep_a"].account
    # when
    response = client.get(reverse("opportunity-create") + f"?account={account.pk}")
    # then
    assert response.status_code == 200
    assert "New opportunity at Alpha Steel Works" in response.content.decode()


def test_opportunity_create_without_account_sends_to_the_account_list(client_for, people):
    # given
    client = client_for(people.rep_a)
    # when
    response = client.get(reverse("opportunity-create"))
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("account-list")


def test_opportunity_page_shows_the_deal_the_stages_and_the_people(client_for, people, books):
    # given
    book = books["rep_a"]
    client = client_for(people.rep_a)
    # when
    response = client.get(reverse("opportunity-detail", args=[book.opportunity.pk]))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="{reverse("account-detail", args=[book.account.pk])}"' in html
    assert "CNY\u00a01,250,000.00" in html
    assert "2027-06-30" in html
    assert "Standard process (6 stages)" in html
    assert 'class="step step-current" aria-current="step"' in html
    assert '<span class="stage-name" data-testid="stage">Development</span>' in html
    assert '<dd data-testid="buyer-stage">Problem and need</dd>' in html
    assert "<strong>10%</strong>" in html
    assert "Find leads before or after the customer approves a project" in html
    assert "Evaluation recorded and passed; priority grade assigned." in html
    assert 'data-testid="org-chart"' in html
    assert html.count('data-testid="contact-row"') == 2
    assert 'data-testid="history"' in html
    assert "Alice Rep" in html


def test_opportunity_page_speaks_chinese_from_the_methodology_files(client_for, people, books):
    # given
    client = client_for(people.rep_a, language="zh-hans")
    # when
    response = client.get(reverse("opportunity-detail", args=[books["rep_a"].opportunity.pk]))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<span class="stage-name" data-testid="stage">开发阶段</span>' in html
    assert '<dd data-testid="buyer-stage">找出问题,提出需求</dd>' in html
    assert "标准流程(六阶段)" in html


def test_org_chart_is_indented_by_reporting_line_and_greys_people_who_left(
    client_for, people, books
):
    # given
    from kam.contacts.services import contact_update

    book = books["rep_a"]
    contact_update(actor=people.rep_a, contact=book.report, status="left")
    client = client_for(people.rep_a)
    # when
    response = client.get(reverse("account-detail", args=[book.account.pk]))
    # then
    html = response.content.decode()
    boss_row = html.index(f'data-contact-id="{book.boss.pk}" data-depth="0" class="contact-row"')
    report_row = html.index(
        f'data-contact-id="{book.report.pk}" data-depth="1" class="contact-row is-left"'
    )
    assert boss_row < report_row
    assert "Chief engineer" in html
    assert "Management layer" in html


def test_history_shows_a_buyer_stage_change_with_actor(client_for, people, books):
    # given
    from kam.opportunities.services import opportunity_update

    opp = books["rep_a"].opportunity
    opportunity_update(actor=people.manager_east, opportunity=opp, buyer_stage="search")
    client = client_for(people.rep_a)
    # when
    response = client.get(reverse("opportunity-detail", args=[opp.pk]))
    # then
    html = response.content.decode()
    assert "<strong>Buyer stage changed</strong>" in html
    assert (
        '<span class="before">Problem and need</span> → '
        '<span class="after">Information search</span>'
    ) in html
    assert "w_m_east" in html
    assert Event.objects.filter(opportunity_id=opp.pk).count() == 2
