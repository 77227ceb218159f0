"""Which accounts a segment holds: computed from its definition over the accounts the
user may see, in one SQL query (accounts_in_segment), and the same decision in
Python for one account (segments_of_account)."""

from __future__ import annotations

import pytest

from kam.segments.selectors import (
    account_counts,
    accounts_in_segment,
    segment_list,
    segments_of_account,
)
from kam.segments.services import segment_create


def _names(user, segment) -> list[str]:
    return [a.name for a in accounts_in_segment(user, segment)]


def _segment(world, definition: dict, name: str = "S"):
    return segment_create(actor=world.admin, name=name, definition=definition)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        # an account field with __in
        ({"size": ["large", "very_large"]}, ["常州汽车配件厂", "成都汽车", "无锡汽车"]),
        ({"nature": ["private"]}, ["常州汽车配件厂"]),
        # free text: substring, ignoring case, any of the texts
        ({"industry": ["汽车"]}, ["常州汽车配件厂", "成都汽车"]),
        ({"industry": ["汽车", "AUTO"]}, ["常州汽车配件厂", "成都汽车", "无锡汽车"]),
        ({"location": ["江苏"]}, ["常州汽车配件厂", "无锡汽车"]),
        # profile attributes
        ({"technology": ["automated"]}, ["常州汽车配件厂", "无锡汽车"]),
        ({"technology": ["automated", "digital"]}, ["上海电子", "常州汽车配件厂", "无锡汽车"]),
        ({"application": ["面料"]}, ["常州汽车配件厂"]),
        ({"loyalty": ["high"]}, []),
        # several variables: all must hold
        ({"industry": ["汽车"], "technology": ["automated"]}, ["常州汽车配件厂"]),
        (
            {"size": ["large"], "location": ["江苏", "四川"], "technology": ["manual"]},
            ["成都汽车"],
        ),
        # no condition: every account
        ({}, ["上海电子", "常州汽车配件厂", "成都汽车", "无锡汽车"]),
    ],
)
def test_an_admin_finds_the_matching_accounts(world, market, definition, expected):
    # given
    segment = _segment(world, definition)
    # when / then
    assert _names(world.admin, segment) == expected


def test_a_percent_sign_is_text_not_a_wildcard(world, market):
    segment = _segment(world, {"industry": ["%"]})
    assert _names(world.admin, segment) == []


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("rep_a", ["常州汽车配件厂"]),
        ("rep_b", ["无锡汽车"]),
        ("rep_c", ["成都汽车"]),
        ("manager_east", ["常州汽车配件厂", "无锡汽车"]),
        ("manager_west", ["成都汽车"]),
        ("admin", ["常州汽车配件厂", "成都汽车", "无锡汽车"]),
    ],
)
def test_each_user_sees_only_their_visible_accounts(world, market, viewer, expected):
    # given
    segment = _segment(world, {"size": ["large", "very_large"]})
    # when / then
    assert _names(getattr(world, viewer), segment) == expected


def test_an_admin_sees_an_account_without_deals(world, market):
    # given
    from kam.accounts.services import account_create

    account_create(actor=world.rep_a, name="没有商机的客户", size="large")
    segment = _segment(world, {"size": ["large"]})
    # when / then
    assert "没有商机的客户" in _names(world.admin, segment)


def test_an_empty_definition_holds_all_the_users_accounts(world, market):
    segment = _segment(world, {})
    assert _names(world.rep_a, segment) == ["上海电子", "常州汽车配件厂"]


def test_the_accounts_come_in_one_query(world, market, django_assert_num_queries):
    # given
    segment = _segment(
        world, {"industry": ["汽车", "auto"], "size": ["large"], "technology": ["automated"]}
    )
    # when / then
    with django_assert_num_queries(1):
        accounts = list(accounts_in_segment(world.manager_east, segment))
        owners = [a.owner.username for a in accounts]
    assert owners == ["rep_a"]


def test_counts_for_many_segments_take_one_query(world, market, django_assert_num_queries):
    # given
    segments = [
        _segment(world, {"technology": ["automated"]}, "A"),
        _segment(world, {}, "B"),
        _segment(world, {"industry": ["汽车"]}, "C"),
        _segment(world, {"loyalty": ["high"]}, "D"),
    ]
    # when
    with django_assert_num_queries(1):
        counts = account_counts(world.admin, segments)
    # then
    assert [counts[s.pk] for s in segments] == [2, 4, 2, 0]


def test_the_segment_list_costs_two_queries_however_many_segments(
    world, market, django_assert_num_queries
):
    # given
    for i in range(3):
        _segment(world, {"technology": ["automated"]}, f"S{i}")
    with django_assert_num_queries(2):
        few = segment_list(world.rep_a)
    for i in range(3, 12):
        _segment(world, {"industry": [f"x{i}"], "size": ["large"]}, f"S{i}")
    # when / then
    with django_assert_num_queries(2):
        many = segment_list(world.rep_a)
    assert [r.account_count for r in few] == [1, 1, 1]
    assert len(many) == 12


def test_segments_of_an_account_agree_with_the_sql(world, market):
    # given
    definitions = [
        {"size": ["large", "very_large"]},
        {"industry": ["汽车", "AUTO"]},
        {"location": ["江苏"]},
        {"technology": ["automated", "digital"]},
        {"application": ["面料"]},
        {"industry": ["汽车"], "technology": ["automated"]},
        {"loyalty": ["low", "medium"], "procurement": ["centralised"]},
        {},
    ]
    segments = [_segment(world, d, f"S{i}") for i, d in enumerate(definitions)]
    # when / then
    for account in market.values():
        in_python = {s.pk for s in segments_of_account(account)}
        in_sql = {
            s.pk
            for s in segments
            if accounts_in_segment(world.admin, s).filter(pk=account.pk).exists()
        }
        assert in_python == in_sql, account.name


def test_segments_of_an_account_by_name(world, market):
    # given
    _segment(world, {"technology": ["automated"]}, "自动化用户")
    _segment(world, {"industry": ["汽车"]}, "汽车行业")
    _segment(world, {"technology": ["manual"]}, "手工")
    # when / then
    assert [s.name for s in segments_of_account(market["changzhou"])] == ["汽车行业", "自动化用户"]
    assert [s.name for s in segments_of_account(market["shanghai"])] == []
