"""Changing accounts. Each service validates, writes and records its event in one
transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kam.accounts.models import Account, AccountMember, AccountType, Nature, Size
from kam.core import audit, clock, drafts, sharing, validation
from kam.core.concurrency import lock_for_change
from kam.core.errors import Conflict
from kam.core.permissions import check_assignable
from kam.segments.attributes import clean_attributes

EDITABLE_FIELDS = (
    "name",
    "code",
    "industry",
    "region",
    "size",
    "nature",
    "account_type",
    "annual_revenue",
    "collection_cycle_days",
    "receivables",
    "credit_limit",
    "notes",
    "value_positioning",
    "attributes",
    "owner",
)


# Made once: the importer cleans thousands of rows and the message is rarely shown.
_CODE_TAKEN = gettext_lazy("Another account already uses the code “%(code)s”.")


def _clean(
    data: dict[str, Any], *, instance: Account | None = None, check_code: bool = True
) -> dict[str, Any]:
    """Check and normalise the given fields; unknown keys are a programming error."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not account fields: {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "name":
            out[name] = validation.text(value, field=name, max_length=200, required=True)
        elif name == "code":
            out[name] = validation.unique_code(
                value,
                field=name,
                model=Account,
                instance=instance,
                message=_CODE_TAKEN,
                check=check_code,
            )
        elif name in ("industry", "region"):
            out[name] = validation.text(value, field=name, max_length=100)
        elif name == "notes":
            out[name] = validation.text(value, field=name, max_length=10_000)
        elif name == "size":
            out[name] = validation.choice(value, field=name, choices=Size)
        elif name == "nature":
            out[name] = validation.choice(value, field=name, choices=Nature)
        elif name == "account_type":
            out[name] = validation.choice(value, field=name, choices=AccountType)
        elif name in ("annual_revenue", "receivables", "credit_limit"):
            out[name] = validation.money(value, field=name)
        elif name == "collection_cycle_days":
            out[name] = validation.whole_number(value, field=name, maximum=3650)
        elif name == "value_positioning":
            out[name] = validation.whole_number(value, field=name, minimum=1, maximum=5)
        elif name == "attributes":
            out[name] = clean_attributes(value, field=name)
        elif name == "owner":
            out[name] = value
    return out


@transaction.atomic
def account_create(*, actor, name: str, owner=None, **fields: Any) -> Account:
    return drafts.save_one(account_build(actor=actor, name=name, owner=owner, **fields))


def account_build(
    *, actor, name: str, owner=None, check_code: bool = True, **fields: Any
) -> drafts.Draft[Account]:
    """A new account checked, unsaved, with its created event: `account_create`
    writes one, the importer many (`check_code=False` when it has looked the code up)."""
    data = _clean({"name": name, **fields}, check_code=check_code)
    owner = owner or actor
    check_assignable(actor, owner)
    account = Account(**data, owner=owner)
    created = audit.event(
        actor=actor,
        entity="account",
        action="created",
        after=audit.snapshot(account, EDITABLE_FIELDS),
    )
    return drafts.Draft(account, [created], own=("entity_id", "account_id"))


@transaction.atomic
def account_update(
    *, actor, account: Account, expected_version: int | None = None, **changes: Any
) -> Account:
    """`expected_version`: the version the change was based on (412 when stale)."""
    lock_for_change(account, expected_version)
    data = _clean(changes, instance=account)
    if "owner" in data and data["owner"].pk != account.owner_id:
        check_assignable(actor, data["owner"])
    before, after = audit.apply_changes(account, data)
    if not after:
        return account
    account.updated_at = clock.now()
    account.save(update_fields=[*after.keys(), "updated_at"])
    audit.record(
        actor=actor,
        entity="account",
        entity_id=account.pk,
        action="updated",
        before=before,
        after=after,
        account_id=account.pk,
    )
    return account


@transaction.atomic
def account_delete(*, actor, account: Account, expected_version: int | None = None) -> None:
    """Only an account that holds nothing yet can go; otherwise its history would."""
    lock_for_change(account, expected_version)
    if account.opportunities.exists() or account.contacts.exists():
        raise Conflict(
            _("This account still has opportunities or contacts; delete or move them first.")
        )
    if account.employed_partners.exists():
        raise Conflict(
            _("Referral partners are recorded as employed by this account; change them first.")
        )
    audit.record(
        actor=actor,
        entity="account",
        entity_id=account.pk,
        action="deleted",
        before=audit.snapshot(account, EDITABLE_FIELDS),
        account_id=account.pk,
    )
    _record_children_deleted(actor=actor, account=account)
    account.delete()


def _record_children_deleted(*, actor, account: Account) -> None:
    """What the database deletes with the account gets its "deleted" event too: the
    revenue and satisfaction records, the SWOT lines, our position, the competition
    map (its needs radar is the account's own `needs_set` events)."""
    from kam.accounts.needs import SATISFACTION_FIELDS
    from kam.accounts.revenue import FIELDS as REVENUE_FIELDS
    from kam.competition.accounts import POSITION_FIELDS, entry_snapshot
    from kam.competition.models import MapEntry, Position, SwotItem

    common = {"actor": actor, "account_id": account.pk, "note": _("Deleted with its account.")}
    sharing.members_removed_with(
        actor=actor, record=account, member_model=AccountMember, note=common["note"]
    )
    audit.record_deleted(
        rows=account.revenue.all(), entity="revenue_record", fields=REVENUE_FIELDS, **common
    )
    audit.record_deleted(
        rows=account.satisfaction_records.all(),
        entity="satisfaction",
        fields=SATISFACTION_FIELDS,
        **common,
    )
    audit.record_deleted(
        rows=SwotItem.objects.filter(account=account),
        entity="swot_item",
        fields=("quadrant", "text"),
        **common,
    )
    audit.record_deleted(
        rows=Position.objects.filter(account=account),
        entity="competitive_position",
        fields=POSITION_FIELDS,
        **common,
    )
    entries = [
        entry_snapshot(e)
        for e in MapEntry.objects.filter(account=account).select_related("competitor")
    ]
    if entries:
        audit.record(
            entity="competition_map",
            entity_id=account.pk,
            action="deleted",
            before={"entries": entries},
            **common,
        )
