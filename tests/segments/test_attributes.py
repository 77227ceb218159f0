"""An account's segmentation profile (Account.attributes): only attribute-sourced
variables, only their options (or a short text for a free-text one), empty values
dropped — checked by clean_attributes, which account_create/update call."""

from __future__ import annotations

import pytest

from kam.accounts.models import Account
from kam.accounts.services import account_create, account_update
from kam.core.errors import ValidationFailed
from kam.segments.attributes import clean_attributes


def _refused(value) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as err:
        clean_attributes(value)
    return err.value


def test_nothing_given_is_an_empty_profile(db):
    assert clean_attributes(None) == {}
    assert clean_attributes({}) == {}


def test_values_are_kept_in_the_models_order_and_empties_dropped(db):
    # given
    value = {
        "loyalty": "high",
        "technology": "automated",
        "application": "  座椅面料  ",
        "procurement": "",
        "urgency": None,
    }
    # when
    cleaned = clean_attributes(value)
    # then
    assert cleaned == {"technology": "automated", "application": "座椅面料", "loyalty": "high"}
    assert list(cleaned) == ["technology", "application", "loyalty"]


def test_an_unknown_variable_is_named_with_the_known_ones(db):
    error = _refused({"colour": "red"})
    assert error.field == "attributes.colour"
    assert str(error.message) == (
        "“colour” is not a segmentation attribute; use any of: technology, user_status, "
        "service_needs, procurement, power_structure, relationship, purchasing_policy, "
        "buying_criteria, urgency, application, order_size, similarity, risk_attitude, loyalty."
    )


def test_an_account_field_variable_is_not_an_attribute(db):
    # industry is the account's own field: set it there
    assert _refused({"industry": "汽车"}).field == "attributes.industry"


def test_a_value_outside_the_options_is_refused(db):
    error = _refused({"procurement": "sometimes"})
    assert error.field == "attributes.procurement"
    assert str(error.message) == (
        "“sometimes” is not a value of procurement; use one of: centralised, decentralised."
    )


def test_a_list_is_refused(db):
    error = _refused({"buying_criteria": ["price", "quality"]})
    assert error.field == "attributes.buying_criteria"
    assert str(error.message) == "Give one value, not a list."


def test_free_text_is_at_most_100_characters(db):
    assert clean_attributes({"application": "x" * 100}) == {"application": "x" * 100}
    error = _refused({"application": "x" * 101})
    assert error.field == "attributes.application"


def test_not_an_object_is_refused(db):
    assert _refused(["technology"]).field == "attributes"


def test_account_services_store_the_cleaned_profile(world):
    # given
    account = account_create(
        actor=world.rep_a, name="皇冠公司", attributes={"technology": "digital", "loyalty": ""}
    )
    # when
    account_update(
        actor=world.rep_a,
        account=account,
        attributes={"technology": "digital", "urgency": "urgent"},
    )
    # then
    account.refresh_from_db()
    assert account.attributes == {"technology": "digital", "urgency": "urgent"}


def test_a_refused_profile_changes_nothing(world, api_as):
    # given
    account = account_create(actor=world.rep_a, name="皇冠公司", attributes={"loyalty": "low"})
    # when
    response = api_as(world.rep_a).patch(
        f"accounts/{account.pk}", {"attributes": {"loyalty": "eternal"}}
    )
    # then
    assert response.status_code == 422
    assert response.json()["field"] == "attributes.loyalty"
    assert Account.objects.get(pk=account.pk).attributes == {"loyalty": "low"}
