"""The language comes from the client_for and can be switched; every page says
which language it is in."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse


def test_accept_language_chinese_gives_a_chinese_page(client_for, people):
    # given
    client = client_for(people.rep_a, language="zh-hans")
    # when
    response = client.get(reverse("home"))
    # then
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.content.decode()


def test_accept_language_english_gives_an_english_page(client_for, people):
    # given
    client = client_for(people.rep_a, language="en")
    # when
    response = client.get(reverse("home"))
    # then
    assert '<html lang="en">' in response.content.decode()


def test_login_page_follows_the_browser_language(client_for, db):
    # given
    client = client_for(language="zh-hans")
    # when
    response = client.get(reverse("login"))
    # then
    assert '<html lang="zh-hans">' in response.content.decode()


def test_the_switch_has_two_buttons_posting_to_set_language(client_for, people):
    # given
    client = client_for(people.rep_a)
    # when
    html = client.get(reverse("account-list") + "?q=steel").content.decode()
    # then
    assert (
        f'<form method="post" action="{reverse("set_language")}" class="lang-switch" '
        'data-testid="lang-switch">'
    ) in html
    assert 'name="language" value="zh-hans" lang="zh-Hans" data-testid="lang-zh-hans"' in html
    assert 'name="language" value="en" lang="en" data-testid="lang-en" aria-pressed="true"' in html
    assert '<input type="hidden" name="next" value="/accounts/?q=steel">' in html


def test_switching_the_language_sets_the_cookie_and_returns(client_for, people):
    # given
    client = client_for(people.rep_a, language="en")
    # when
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": reverse("account-list")}
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("account-list")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    page = client.get(reverse("account-list")).content.decode()
    assert '<html lang="zh-hans">' in page


def test_the_role_is_shown_in_the_users_language(client_for, people):
    # given
    client = client_for(people.manager_east, language="en")
    # when
    html = client.get(reverse("home")).content.decode()
    # then
    assert '<span class="role">Sales manager · East</span>' in html
