"""The segmentation pages: the segment list, a segment's page, the segment form
(managers and admins; errors at their fields), the account page's Segments card and
the account's segmentation profile (editors set its attributes)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kam.accounts.models import Account
from kam.core.models import Event
from kam.segments.models import Segment
from kam.segments.services import segment_create


def _client(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _html(response, status: int = 200) -> str:
    assert response.status_code == status, response.content[:2000]
    return response.content.decode()


def _part(html: str, testid: str, end: str = "</section>") -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index(end, start)]


@pytest.fixture
def automated(world, market):
    return segment_create(
        actor=world.manager_east,
        name="自动化汽车厂",
        definition={"industry": ["汽车", "auto"], "technology": ["automated"]},
        scores={"market_size": 5, "growth": 4, "rivalry": 2},
    )


def _state():
    return (
        list(Segment.objects.order_by("id").values_list("name", "definition", "scores")),
        Event.objects.filter(entity="segment").count(),
    )


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_score_count_and_definition(world, automated):
    # when
    html = _html(_client(world.rep_a).get(reverse("segment-list")))
    # then
    row = _part(html, "segment-row", "</tr>")
    assert "自动化汽车厂" in row
    assert 'data-testid="segment-score">' in row
    assert ">61.4<" in row  # (90 × 30 + 40 × 40) / 70: the fit is not scored
    assert 'data-testid="segment-count">1<' in row  # rep_a sees 常州 only
    assert "Industry: 汽车 / auto · Technology: Automated" in row
    assert 'data-testid="segment-create"' not in html  # a rep does not define segments
    assert 'data-testid="nav-segments" aria-current="page"' in html


def test_a_manager_gets_the_new_segment_button(world, automated):
    html = _html(_client(world.manager_west).get(reverse("segment-list")))
    assert 'data-testid="segment-create"' in html
    assert 'data-testid="segment-count">0<' in html  # no West account matches


def test_an_empty_list_says_so(world):
    html = _html(_client(world.rep_a, "zh-Hans").get(reverse("segment-list")))
    assert 'data-testid="segments-empty"' in html


# --- a segment's page -----------------------------------------------------------------------


def test_the_segment_page_shows_definition_scores_and_visible_accounts(world, automated):
    # when
    html = _html(_client(world.manager_east).get(reverse("segment-detail", args=[automated.pk])))
    # then
    definition = _part(html, "segment-definition")
    assert "“汽车”" in definition and "“auto”" in definition and "Automated" in definition
    assert _part(html, "segment-total", "</strong>").endswith(">61.4")
    assert "some criteria not scored yet" in html
    assert 'id="segment-chart-data"' in html
    assert 'data-testid="segment-radar"' in html
    accounts = _part(html, "segment-accounts")
    assert accounts.count('data-testid="segment-account"') == 2
    assert reverse("account-detail", args=[_pk("常州汽车配件厂")]) in accounts
    assert 'data-testid="segment-edit"' in html


def _pk(name: str) -> int:
    return Account.objects.get(name=name).pk


def test_a_rep_sees_only_their_accounts_and_no_edit_button(world, automated):
    html = _html(_client(world.rep_b).get(reverse("segment-detail", args=[automated.pk])))
    accounts = _part(html, "segment-accounts")
    assert accounts.count('data-testid="segment-account"') == 1
    assert "无锡汽车" in accounts
    assert 'data-testid="segment-edit"' not in html


def test_an_unscored_segment_says_so(world, market):
    segment = segment_create(actor=world.admin, name="空")
    html = _html(_client(world.rep_a, "zh-Hans").get(reverse("segment-detail", args=[segment.pk])))
    assert 'data-testid="segment-radar"' not in html
    assert _part(html, "segment-accounts").count('data-testid="segment-account"') == 2


def test_an_unknown_segment_is_404(world):
    assert _client(world.admin).get(reverse("segment-detail", args=[999])).status_code == 404


# --- the form -------------------------------------------------------------------------------


def test_the_form_groups_variables_and_scores(world):
    html = _html(_client(world.manager_east).get(reverse("segment-create")))
    for group in ("demographic", "operating", "purchasing", "situational", "personal"):
        assert f'data-group="{group}"' in html
    assert 'name="def_technology" value="automated"' in html
    assert 'name="def_industry"' in html and 'type="text"' in html
    assert 'name="score_rivalry"' in html
    assert "1 = many strong, aggressive rivals · 5 = few, weak rivals" in html


def test_a_manager_creates_a_segment_through_the_form(world, market):
    # when
    response = _client(world.manager_east).post(
        reverse("segment-create"),
        {
            "name": "江苏汽车",
            "description": "",
            "def_industry": "汽车， auto",
            "def_location": "江苏",
            "def_technology": ["automated", "digital"],
            "score_rivalry": "4",
            "score_growth": "",
        },
    )
    # then
    segment = Segment.objects.get(name="江苏汽车")
    assert response.status_code == 302
    assert response["Location"] == reverse("segment-detail", args=[segment.pk])
    assert segment.definition == {
        "industry": ["汽车", "auto"],
        "location": ["江苏"],
        "technology": ["automated", "digital"],
    }
    assert segment.scores == {"rivalry": 4}


def test_form_errors_land_on_their_fields_and_nothing_is_saved(world, automated):
    # given
    before = _state()
    # when
    response = _client(world.admin).post(
        reverse("segment-create"), {"name": "自动化汽车厂", "def_size": ["large"]}
    )
    # then
    html = _html(response, 422)
    start = html.index('data-field="name"')
    name_field = html[start : html.index("</div>\n    </div>", start)]
    assert "Another segment is already called “自动化汽车厂”" in name_field
    assert 'value="large" id="id_def_size_2" checked' in html  # ticked stays ticked
    assert _state() == before


def test_a_too_long_text_is_shown_at_its_variable(world, market):
    response = _client(world.admin).post(
        reverse("segment-create"), {"name": "长", "def_application": "x" * 101}
    )
    html = _html(response, 422)
    start = html.index('data-field="def_application"')
    assert "Use at most 100 characters" in html[start : start + 2000]
    assert not Segment.objects.exists()


def test_an_unknown_option_is_a_form_error(world, market):
    response = _client(world.admin).post(
        reverse("segment-create"), {"name": "X", "def_size": ["huge"]}
    )
    assert _html(response, 422).count('data-testid="field-errors"') == 1
    assert not Segment.objects.exists()


def test_the_edit_form_is_filled_in_and_saves(world, automated):
    client = _client(world.manager_west)
    html = _html(client.get(reverse("segment-edit", args=[automated.pk])))
    assert 'value="汽车, auto"' in html
    assert 'name="def_technology" value="automated"' in html
    assert '<option value="5" selected>5</option>' in html
    response = client.post(
        reverse("segment-edit", args=[automated.pk]),
        {"name": "自动化汽车厂", "def_technology": ["automated"], "score_fit_goals": "5"},
    )
    assert response.status_code == 302
    automated.refresh_from_db()
    assert automated.definition == {"technology": ["automated"]}
    assert automated.scores == {"fit_goals": 5}


@pytest.mark.parametrize("role", ["rep_a", "rep_c"])
def test_a_rep_cannot_open_or_post_the_forms(world, automated, role):
    # given
    client = _client(getattr(world, role))
    before = _state()
    # when / then
    assert client.get(reverse("segment-create")).status_code == 403
    assert client.post(reverse("segment-create"), {"name": "Mine"}).status_code == 403
    assert client.get(reverse("segment-edit", args=[automated.pk])).status_code == 403
    edit = client.post(reverse("segment-edit", args=[automated.pk]), {"name": "Changed"})
    assert edit.status_code == 403
    assert client.post(reverse("segment-delete", args=[automated.pk])).status_code == 403
    assert _state() == before


def test_a_manager_deletes_a_segment(world, automated):
    response = _client(world.admin).post(reverse("segment-delete", args=[automated.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("segment-list")
    assert not Segment.objects.exists()


# --- the account side ---------------------------------------------------------------------


def test_the_account_card_lists_its_segments(world, automated):
    # given
    segment_create(actor=world.admin, name="电子行业", definition={"industry": ["电子"]})
    account = Account.objects.get(name="常州汽车配件厂")
    # when
    html = _html(_client(world.rep_a).get(reverse("account-detail", args=[account.pk])))
    # then
    card = _part(html, "segments-card")
    assert card.count('data-testid="account-segment"') == 1
    assert "自动化汽车厂" in card and "电子行业" not in card
    assert reverse("account-segmentation", args=[account.pk]) in card


def test_an_account_in_no_segment_says_so(world, market):
    account = Account.objects.get(name="上海电子")
    html = _html(_client(world.rep_a, "zh-Hans").get(reverse("account-detail", args=[account.pk])))
    assert 'data-testid="account-segment"' not in _part(html, "segments-card")


def test_the_profile_page_shows_the_values_and_the_form_to_its_editor(world, automated):
    # given
    account = Account.objects.get(name="常州汽车配件厂")
    # when
    html = _html(_client(world.rep_a).get(reverse("account-segmentation", args=[account.pk])))
    # then
    values = _part(html, "segmentation-values")
    assert 'data-variable="industry">汽车零部件' in values
    assert 'data-variable="size">Large' in values
    assert 'data-variable="technology">Automated' in values
    assert 'data-variable="application">座椅面料' in values
    assert 'data-variable="urgency">—' in values
    form = _part(html, "attributes-form", "</form>")
    assert '<option value="automated" selected>' in form
    assert 'name="attr_industry"' not in form  # the account's own field
    assert "自动化汽车厂" in _part(html, "segmentation-segments")


def test_the_manager_of_the_team_may_edit_the_profile(world, automated):
    account = Account.objects.get(name="常州汽车配件厂")
    html = _html(
        _client(world.manager_east).get(reverse("account-segmentation", args=[account.pk]))
    )
    assert 'data-testid="attributes-form"' in html


def test_saving_the_profile_goes_through_account_update(world, automated):
    # given
    account = Account.objects.get(name="上海电子")
    # when
    response = _client(world.rep_a).post(
        reverse("account-segmentation", args=[account.pk]),
        {"attr_technology": "automated", "attr_urgency": "urgent", "attr_application": " 车灯 "},
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("account-segmentation", args=[account.pk])
    account.refresh_from_db()
    assert account.attributes == {
        "technology": "automated",
        "urgency": "urgent",
        "application": "车灯",
    }
    event = Event.objects.filter(entity="account", entity_id=account.pk).latest("id")
    assert event.action == "updated"
    assert event.after == {"attributes": account.attributes}


def test_a_bad_profile_value_is_shown_and_nothing_saved(world, automated):
    account = Account.objects.get(name="上海电子")
    response = _client(world.rep_a).post(
        reverse("account-segmentation", args=[account.pk]), {"attr_technology": "steam"}
    )
    html = _html(response, 422)
    start = html.index('data-field="attr_technology"')
    assert "field-errors" in html[start : start + 3000]
    account.refresh_from_db()
    assert account.attributes == {"technology": "digital", "procurement": "decentralised"}


@pytest.mark.parametrize("role", ["rep_b", "rep_c", "manager_west"])
def test_outside_the_scope_the_profile_is_404_and_unchanged(world, automated, role):
    account = Account.objects.get(name="常州汽车配件厂")
    client = _client(getattr(world, role))
    url = reverse("account-segmentation", args=[account.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"attr_technology": "manual"}).status_code == 404
    account.refresh_from_db()
    assert account.attributes["technology"] == "automated"
