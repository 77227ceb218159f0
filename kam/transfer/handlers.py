"""The import's rows, one handler per kind: how a row finds the record it names (by
code or name, its account, its owner) and how what it says is written.

One set of rules, two ways of writing:

- A row that changes a record already in KAM runs the service (`account_update` …) in
  a savepoint of its own, exactly as a change typed in the UI.
- A row that makes a new record has it built by the service's build step
  (`account_build`, `opportunity_bring_in_build` … — the same checks, nothing written)
  and kept in a batch. The batch is written with `kam.core.drafts.save_many` — a few
  multi-row INSERTs for the records, then for their events — once the next chunk's
  lookups are made (its events written behind, on a second thread, while that chunk is
  checked), or sooner when a later row must see it (a row naming one of its records by
  name, a row that changes a record: events stay in row order).

The lookups a chunk needs (codes, names, the accounts rows refer to) are made for the
whole chunk in a few queries at its start. A write in the middle of a chunk may change
what they found (a renamed account), so after one the rest of the chunk looks up row by
row, as every row did before batches. With `FAST` off every row takes that road: each
row in its savepoint, written on its own (the tests compare the two)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kam.accounts import revenue as revenue_services
from kam.accounts import services as account_services
from kam.accounts.models import Account, RevenueRecord
from kam.accounts.selectors import accounts_editable_by, accounts_for_user
from kam.contacts import services as contact_services
from kam.contacts.models import Contact
from kam.contacts.selectors import contacts_for_user
from kam.core import audit, drafts
from kam.core.drafts import Draft
from kam.core.errors import Conflict, DomainError, ValidationFailed
from kam.core.i18n import show
from kam.core.models import Event
from kam.methodology import registry
from kam.opportunities import services as opportunity_services
from kam.opportunities.models import Opportunity, Status
from kam.opportunities.selectors import opportunities_for_user
from kam.transfer import columns as cols
from kam.transfer.report import CREATED, UNCHANGED, UPDATED, Problem, Report
from kam.users.models import User

logger = logging.getLogger(__name__)

# Rows read, looked up and written together.
CHUNK_ROWS = 1000
# Accounts referred to kept across chunks, at most (a file's accounts, usually).
ACCOUNTS_KEPT = 50_000
# Off: every row on its own (savepoint, lookups, service), the importer before batches.
FAST = True
# Service field names that are not the column's key.
FIELD_TO_COLUMN = {
    "owner_id": "owner",
    "reports_to_id": "reports_to",
    "account_id": "account",
    "stage_entered_at": "stage_dates",
    "reason": "close_reason",
    "outcome": "status",
}
CENT = Decimal("0.01")
_MISSING = object()

# What a row asks of its handler: a new record to write (Draft), a change to run in a
# savepoint (a function returning the outcome), or an outcome with nothing to write.
Step = Draft | Callable[[], str] | str


@dataclass
class Row:
    number: int
    values: dict[str, Any]  # column key -> value read (only the file's columns)
    headers: dict[str, str]  # column key -> header as written
    # Cells that could not be read: the row is reported with these and goes no further.
    problems: list[Problem] | None = None


class Context:
    def __init__(
        self,
        *,
        actor,
        report: Report,
        skip: set[tuple[str, int]] | None,
        progress: Callable[[str, int], None] | None = None,
    ):
        self.progress = progress
        self.actor = actor
        self.report = report
        self.skip = skip
        self.fast = FAST
        # Where the batches' events are written while the next rows are checked (set
        # by the importer for the run; None: written with their records).
        self.behind: drafts.WriteBehind | None = None
        self._users: dict[str, User | None] = {}

    def user(self, ref: str) -> User | None:
        if ref not in self._users:
            self._users[ref] = (
                User.objects.filter(username__iexact=ref).first()
                or User.objects.filter(display_name=ref).first()
            )
        return self._users[ref]


def _lang() -> str:
    from django.utils.translation import get_language

    return get_language() or "en"


def _changed(instance, fields, update: Callable[[], Any]) -> str:
    before = audit.snapshot(instance, fields)
    update()
    instance.refresh_from_db()
    return UPDATED if audit.snapshot(instance, fields) != before else UNCHANGED


class Handler:
    def __init__(self, context: Context, kind: cols.Kind, title: str):
        self.context = context
        self.kind = kind
        self.title = title
        self.actor = context.actor
        self.outcomes: dict[int, str | None] = {}
        self.headers: dict[str, str] = {}
        self._keys: dict[Any, int] = {}  # the file's keys -> the row that had them first
        # The batch: (row number, draft), and the keys by which a later row finds them.
        self._pending: list[tuple[int, Draft]] = []
        self._pending_keys: set[tuple] = set()
        # The chunk's lookups, made at its start; trusted while `_fresh`.
        self._cache: dict[tuple, Any] = {}
        # The accounts rows refer to: (the one with that code, or those of that name).
        self._accounts: dict[tuple, tuple[Account | None, list[Account]]] = {}
        self._fresh = False

    # --- what the importer's loop calls ---------------------------------------------------

    def start_chunk(self, rows: list[Row]) -> None:
        """The chunk's lookups, then the last chunk's batch written: its events are
        written behind while this chunk's rows are checked. The lookups did not see the
        batch's records, so what they found under the batch's keys is dropped (those
        rows look up on their own)."""
        self._cache = {}
        self._fresh = False
        if rows:
            self.headers = rows[0].headers
        if not self.context.fast:
            return
        written = self._pending_keys
        if rows:
            self.prefetch(rows)
        self.flush()
        for key in written:
            self._cache.pop(key, None)
        self._fresh = bool(rows)

    def take(self, row: Row) -> str | None:
        """The row's outcome, or None when it failed (its problem reported)."""
        if not self.context.fast:
            return self._in_savepoint(row.number, lambda: self._write_now(self.row(row)))
        try:
            step = self.row(row)
        except DomainError as exc:
            self.fail(row.number, exc)
            return None
        if isinstance(step, str):
            return step
        if isinstance(step, Draft):
            self._pending.append((row.number, step))
            self._pending_keys.update(self.keys_of(step.record))
            return CREATED
        self.flush()  # what the batch holds is written before, as in row order
        self._fresh = False
        return self._in_savepoint(row.number, step)

    def finish(self) -> None:
        """After the sheet's last row: its batch written; work that needs every row in
        (contacts' reports_to)."""
        self.flush()

    def label(self, row: Row) -> str:
        return str(row.values.get("name") or row.values.get(self.kind.key_column) or "")

    # --- for the kinds: one row, its lookups ----------------------------------------------

    def row(self, row: Row) -> Step:
        raise NotImplementedError

    def prefetch(self, rows: list[Row]) -> None:
        """Fill the cache with every lookup these rows will make."""

    def keys_of(self, record) -> Iterable[tuple]:
        """The lookup keys under which a later row would find this new record."""
        return ()

    def saved(self, written: list[Draft]) -> None:
        """Called once drafts are in the database (their records have ids)."""

    def lookup(self, key: tuple, load: Callable[[], Any]) -> Any:
        """The chunk's answer for `key`, or `load()` (a query for this row alone) when
        there is none or it may be stale. A record of the batch the key may find is
        written first."""
        if key in self._pending_keys:
            self.flush()
            self._fresh = False
        if self._fresh:
            found = self._cache.get(key, _MISSING)
            if found is not _MISSING:
                return found
        return load()

    def flush(self) -> None:
        """Write the batch; if the database refuses it (another writer took one of its
        codes meanwhile), its rows fail with one problem saying so."""
        if not self._pending:
            return
        pending, self._pending, self._pending_keys = self._pending, [], set()
        batch = [draft for _number, draft in pending]
        behind = self.context.behind
        try:
            with transaction.atomic():
                events = drafts.save_many(batch, events=behind is None)
        except DatabaseError:
            logger.warning("import: a batch of %s was refused", self.kind.key, exc_info=True)
            first, last = pending[0][0], pending[-1][0]
            self.context.report.add(
                Problem(
                    self.title,
                    first,
                    "",
                    _(
                        "Rows %(first)d to %(last)d could not be written: the database refused "
                        "them, most likely because someone saved a record with one of their "
                        "codes while the file was imported. Nothing was written; import the "
                        "file again."
                    )
                    % {"first": first, "last": last},
                )
            )
            for number, _draft in pending:
                self.outcomes[number] = None
                self.context.report.invalid_rows.add((self.kind.key, number))
            return
        if behind is not None:  # out of the savepoint, whose end would wait for them
            behind.submit(events, Event)
        self.saved(batch)

    def _write_now(self, step: Step) -> str:
        if isinstance(step, str):
            return step
        if not isinstance(step, Draft):
            return step()
        try:
            with transaction.atomic():
                drafts.save_one(step)
        except IntegrityError:
            raise Conflict(
                _(
                    "Someone saved a record with this row's code or key while the file was "
                    "imported; import the file again."
                ),
                field=self.kind.key_column,
            ) from None
        self.saved([step])
        return CREATED

    def _in_savepoint(self, number: int, work: Callable[[], str]) -> str | None:
        try:
            with transaction.atomic():
                return work()
        except DomainError as exc:
            self.fail(number, exc)
            return None

    def fail(self, number: int, exc: DomainError) -> None:
        key = FIELD_TO_COLUMN.get(exc.field or "", exc.field or "")
        column = self.headers.get(key, "")
        if not column and key in {c.key for c in self.kind.columns}:
            column = self.kind.column(key).header(_lang()).rstrip("*")
        self.context.report.add(Problem(self.title, number, column, str(exc.message)))
        self.context.report.invalid_rows.add((self.kind.key, number))

    # --- shared by the kinds --------------------------------------------------------------

    def once(self, row: Row, key: Any, column: str, shown: str) -> None:
        """Refuse a key that an earlier row of this sheet already used."""
        if key is None:
            return
        first = self._keys.setdefault(key, row.number)
        if first != row.number:
            raise ValidationFailed(
                _("“%(key)s” is also on row %(row)d; each row needs its own.")
                % {"key": shown, "row": first},
                field=column,
            )

    def owner(self, row: Row) -> User | None:
        ref = row.values.get("owner")
        if not ref:
            return None
        user = self.context.user(ref)
        if user is None:
            raise ValidationFailed(
                _("No user “%(name)s”; write a login name, e.g. %(me)s.")
                % {"name": ref, "me": self.actor.username},
                field="owner",
            )
        return user

    def account(self, row: Row, *, editable: bool = False) -> Account:
        ref = row.values.get("account") or ""
        if not ref:
            raise ValidationFailed(_("This field is required."), field="account")
        key = ("account", editable, ref)
        found = self._accounts.get(key) if self.context.fast else None
        by_code, named = found or self.lookup(key, lambda: self._load_account(ref, editable))
        found = by_code or _the_one(
            named,
            lambda: (
                _("Several accounts are named “%(name)s”; write the account's code.")
                % {"name": ref}
            ),
            field="account",
        )
        if found is None:
            raise ValidationFailed(
                _(
                    "No account “%(ref)s” among yours (by code or exact name); add it on the "
                    "accounts sheet or check the spelling."
                )
                % {"ref": ref},
                field="account",
            )
        return found

    def _pool(self, editable: bool):
        return accounts_editable_by(self.actor) if editable else accounts_for_user(self.actor)

    def _load_account(self, ref: str, editable: bool) -> tuple[Account | None, list[Account]]:
        """(the account with this code, else up to two accounts with this name)."""
        pool = self._pool(editable)
        by_code = pool.filter(code=ref).first()
        return by_code, [] if by_code is not None else list(pool.filter(name=ref)[:2])

    def prefetch_accounts(self, rows: list[Row], *, editable: bool = False) -> None:
        """The accounts the rows refer to, kept for the whole sheet: the sheets that refer
        to accounts (contacts, deals, revenue) change no account, and which accounts a
        user sees does not change in an import."""
        if len(self._accounts) > ACCOUNTS_KEPT:
            self._accounts = {}
        refs = {
            ref
            for row in rows
            if (ref := row.values.get("account"))
            and ("account", editable, ref) not in self._accounts
        }
        if not refs:
            return
        by_code: dict[str, Account] = {}
        named: dict[str, list[Account]] = defaultdict(list)
        for account in self._pool(editable).filter(Q(code__in=refs) | Q(name__in=refs)):
            if account.code in refs:
                by_code[account.code] = account
            if account.name in refs:
                named[account.name].append(account)
        for ref in refs:
            found = by_code.get(ref)
            self._accounts["account", editable, ref] = (found, [] if found else named[ref][:2])

    def cached_account(self, row: Row, *, editable: bool = False) -> Account | None:
        """The row's account as the lookups found it (None if not just one)."""
        found = self._accounts.get(("account", editable, row.values.get("account") or ""))
        if not found:
            return None
        by_code, named = found
        return by_code or (named[0] if len(named) == 1 else None)

    def prefetch_codes(
        self, rows: list[Row], model_query, mine_query, *, column: str = "code"
    ) -> None:
        """For each code in the rows: (the record holding it or None, whether the user
        may change that record), in two queries."""
        codes = {code for row in rows if (code := row.values.get(column))}
        if not codes:
            return
        found = {getattr(r, column): r for r in model_query().filter(**{f"{column}__in": codes})}
        mine = (
            set(
                mine_query()
                .filter(pk__in=[r.pk for r in found.values()])
                .values_list("pk", flat=True)
            )
            if found
            else set()
        )
        for code in codes:
            record = found.get(code)
            self._cache[column, code] = (record, record is not None and record.pk in mine)

    def prefetch_names(self, rows: list[Row], query) -> None:
        """For the rows without a code: up to two records of that name at that account."""
        pairs = set()
        for row in rows:
            if not row.values.get("code"):
                account = self.cached_account(row)
                if account is not None:
                    pairs.add((account.pk, row.values.get("name") or ""))
        if not pairs:
            return
        named: dict[tuple, list] = defaultdict(list)
        accounts, names = {a for a, _n in pairs}, {n for _a, n in pairs}
        for record in query().filter(account_id__in=accounts, name__in=names):
            named[record.account_id, record.name].append(record)
        for account_id, name in pairs:
            self._cache["name", account_id, name] = named[account_id, name][:2]

    def fields(self, row: Row, allowed: tuple[str, ...]) -> dict[str, Any]:
        return {k: v for k, v in row.values.items() if k in allowed}


def _first_and_mine(queryset, mine) -> tuple[Any, bool]:
    found = queryset.first()
    return found, found is not None and mine.filter(pk=found.pk).exists()


def _by_code(found_and_mine: tuple[Any, bool], message: Callable[[], str]):
    """The record a code names (codes are unique), refused when it is not one the
    user may change."""
    found, mine = found_and_mine
    if found is not None and not mine:
        raise ValidationFailed(message(), field="code")
    return found


def _the_one(named: list, message: Callable[[], str], *, field: str):
    """The one record a name matches, None when none does; several are an error asking
    for the code (names are not unique, codes are)."""
    if len(named) > 1:
        raise ValidationFailed(message(), field=field)
    return named[0] if named else None


def _names(text) -> tuple[str, ...]:
    """A stage's names in both languages, also without the suffix 阶段 (提案 = 提案阶段)."""
    return (text.en, text.zh_hans, text.zh_hans.removesuffix("阶段"))


# --- one handler per kind -----------------------------------------------------------------


class Accounts(Handler):
    def row(self, row: Row) -> Step:
        values = row.values
        code = values.get("code") or None
        name = values.get("name") or ""
        self.once(row, ("code", code) if code else None, "code", code or "")
        self.once(row, ("name", name) if not code else None, "name", name)
        fields = self.fields(row, account_services.EDITABLE_FIELDS)
        owner = self.owner(row)
        fields.pop("owner", None)
        existing = self._existing(code, name)
        if existing is None:
            fields.pop("name", None)
            return account_services.account_build(
                actor=self.actor,
                name=name,
                owner=owner,
                check_code=not self.context.fast,  # looked up above
                **fields,
            )
        if owner is not None:
            fields["owner"] = owner
        return lambda: _changed(
            existing,
            account_services.EDITABLE_FIELDS,
            lambda: account_services.account_update(actor=self.actor, account=existing, **fields),
        )

    def _existing(self, code: str | None, name: str) -> Account | None:
        if code:
            return _by_code(
                self.lookup(
                    ("code", code),
                    lambda: _first_and_mine(
                        Account.objects.filter(code=code), accounts_editable_by(self.actor)
                    ),
                ),
                lambda: (
                    _("The code “%(code)s” belongs to an account you cannot change.")
                    % {"code": code}
                ),
            )
        return _the_one(
            self.lookup(
                ("name", name),
                lambda: list(accounts_editable_by(self.actor).filter(name=name)[:2]),
            ),
            lambda: (
                _("Several of your accounts are named “%(name)s”; give this row their code.")
                % {"name": name}
            ),
            field="name",
        )

    def prefetch(self, rows: list[Row]) -> None:
        self.prefetch_codes(
            rows, lambda: Account.objects.all(), lambda: accounts_editable_by(self.actor)
        )
        names = {row.values.get("name") or "" for row in rows if not row.values.get("code")}
        if names:
            named: dict[str, list[Account]] = defaultdict(list)
            for account in accounts_editable_by(self.actor).filter(name__in=names):
                named[account.name].append(account)
            for name in names:
                self._cache["name", name] = named[name][:2]

    def keys_of(self, record: Account) -> Iterable[tuple]:
        return (("name", record.name),)


class Contacts(Handler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # [row number, contact id (a new contact until it is written), boss as written]
        self.bosses: list[list[Any]] = []
        self._unsaved_bosses: list[list[Any]] = []

    def row(self, row: Row) -> Step:
        values = row.values
        account = self.account(row)
        code = values.get("code") or None
        name = values.get("name") or ""
        self.once(row, ("code", code) if code else None, "code", code or "")
        self.once(row, (account.pk, name) if not code else None, "name", name)
        fields = self.fields(row, contact_services.EDITABLE_FIELDS)
        fields.pop("reports_to", None)
        if fields.get("status") == "":
            fields.pop("status")  # a blank status: active for a new contact, kept otherwise
        existing = self._existing(code, account, name)
        if existing is None:
            fields.pop("name", None)
            draft = contact_services.contact_build(
                actor=self.actor,
                account=account,
                name=name,
                check_code=not self.context.fast,
                **fields,
            )
            if values.get("reports_to"):  # a new contact reports to no one until linked
                entry = [row.number, draft.record, values["reports_to"]]
                self.bosses.append(entry)
                self._unsaved_bosses.append(entry)
            return draft
        if existing.account_id != account.pk:
            raise ValidationFailed(
                _(
                    "The contact “%(code)s” works at %(account)s; a contact cannot move to "
                    "another account (add a new one)."
                )
                % {"code": code, "account": existing.account.name},
                field="account",
            )
        if "reports_to" in values:
            self.bosses.append([row.number, existing.pk, values["reports_to"]])
        return lambda: _changed(
            existing,
            contact_services.EDITABLE_FIELDS,
            lambda: contact_services.contact_update(actor=self.actor, contact=existing, **fields),
        )

    def saved(self, written: list[Draft]) -> None:
        for entry in self._unsaved_bosses:
            entry[1] = entry[1].pk
        self._unsaved_bosses = []

    def _existing(self, code: str | None, account: Account, name: str) -> Contact | None:
        if code:
            return _by_code(
                self.lookup(
                    ("code", code),
                    lambda: _first_and_mine(
                        Contact.objects.select_related("account").filter(code=code),
                        contacts_for_user(self.actor),
                    ),
                ),
                lambda: (
                    _("The code “%(code)s” belongs to a contact you cannot change.")
                    % {"code": code}
                ),
            )
        return _the_one(
            self.lookup(
                ("name", account.pk, name),
                lambda: list(Contact.objects.filter(account=account, name=name)[:2]),
            ),
            lambda: (
                _("Several contacts at %(account)s are named “%(name)s”; give this row their code.")
                % {"account": account.name, "name": name}
            ),
            field="name",
        )

    def prefetch(self, rows: list[Row]) -> None:
        self.prefetch_accounts(rows)
        self.prefetch_codes(
            rows,
            lambda: Contact.objects.select_related("account"),
            lambda: contacts_for_user(self.actor),
        )
        self.prefetch_names(rows, lambda: Contact.objects.all())

    def keys_of(self, record: Contact) -> Iterable[tuple]:
        return (("name", record.account_id, record.name),)

    def finish(self) -> None:
        """Set each reports_to once every contact of the sheet exists, a chunk of
        contacts at a time: their bosses looked up together, each link checked by
        `contact_update`'s own rules against a map of who reports to whom in their
        accounts (kept as the links are made), then the chunk's links written in one
        UPDATE and their events in one INSERT."""
        self.flush()
        entries = [e for e in self.bosses if self.outcomes.get(e[0]) is not None]
        self.bosses = []
        for start in range(0, len(entries), CHUNK_ROWS):
            chunk = entries[start : start + CHUNK_ROWS]
            contacts = (
                Contact.objects.select_related("account")
                .order_by()  # by id alone: the model's ordering made SQLite walk every contact
                .in_bulk([e[1] for e in chunk])
            )
            self._cache, self._fresh = {}, False
            if not self.context.fast:
                for number, pk, ref in chunk:
                    self._link(number, contacts[pk], ref)
                continue
            # Linking changes who reports to whom, never a code or a name: the bosses
            # looked up here stay right for the whole chunk.
            self._prefetch_bosses({(contacts[pk].account_id, ref) for _n, pk, ref in chunk if ref})
            self._fresh = True
            self._link_many(chunk, contacts)
        self._cache, self._fresh = {}, False

    def _link(self, number: int, contact: Contact, ref: str) -> None:
        """One link in its savepoint, through `contact_update` (the path without batches)."""

        def link() -> str:
            boss = self._boss(contact, ref) if ref else None
            before = contact.reports_to_id
            contact_services.contact_update(actor=self.actor, contact=contact, reports_to=boss)
            return UPDATED if contact.reports_to_id != before else UNCHANGED

        self._linked(number, self._in_savepoint(number, link))

    def _link_many(self, chunk: list[list[Any]], contacts: dict[int, Contact]) -> None:
        accounts = {c.account_id for c in contacts.values()}
        boss_of = dict(
            Contact.objects.filter(account_id__in=accounts).values_list("id", "reports_to_id")
        )
        changed: list[Contact] = []
        fields: set[str] = set()
        events: list[audit.EventRow] = []
        for number, pk, ref in chunk:
            contact = contacts[pk]
            try:
                boss = self._boss(contact, ref) if ref else None
                built = contact_services.contact_update_build(
                    actor=self.actor, contact=contact, reports_to=boss, boss_of=boss_of.get
                )
            except DomainError as exc:
                self.fail(number, exc)
                self._linked(number, None)
                continue
            if built is None:
                self._linked(number, UNCHANGED)
                continue
            boss_of[contact.pk] = contact.reports_to_id
            changed.append(contact)
            fields.update(built[0])
            events.append(built[1])
            self._linked(number, UPDATED)
        if changed:
            drafts.update_many(changed, sorted(fields))
            drafts.insert_many(events, model=Event)

    def _linked(self, number: int, linked: str | None) -> None:
        previous = self.outcomes[number]
        if linked is None:
            self.outcomes[number] = None
        elif linked == UPDATED and previous == UNCHANGED:
            self.outcomes[number] = UPDATED

    def _prefetch_bosses(self, wanted: set[tuple[int, str]]) -> None:
        """For each (account, boss as written): the contact with that code there, or
        up to two of that name."""
        if not wanted:
            return
        accounts, refs = {a for a, _r in wanted}, {r for _a, r in wanted}
        by_code: dict[tuple, Contact] = {}
        named: dict[tuple, list[Contact]] = defaultdict(list)
        for boss in Contact.objects.filter(account_id__in=accounts).filter(
            Q(code__in=refs) | Q(name__in=refs)
        ):
            if boss.code in refs:
                by_code[boss.account_id, boss.code] = boss
            if boss.name in refs:
                named[boss.account_id, boss.name].append(boss)
        for account_id, ref in wanted:
            found = by_code.get((account_id, ref))
            self._cache["boss", account_id, ref] = (
                found,
                [] if found else named[account_id, ref][:2],
            )

    def _boss(self, contact: Contact, ref: str) -> Contact:
        def load() -> tuple[Contact | None, list[Contact]]:
            here = Contact.objects.filter(account_id=contact.account_id)
            by_code = here.filter(code=ref).first()
            return by_code, [] if by_code is not None else list(here.filter(name=ref)[:2])

        by_code, named = self.lookup(("boss", contact.account_id, ref), load)
        found = by_code or _the_one(
            named,
            lambda: (
                _("Several contacts here are named “%(name)s”; write the boss's code.")
                % {"name": ref}
            ),
            field="reports_to",
        )
        if found is None:
            raise ValidationFailed(
                _("No contact “%(ref)s” at %(account)s (by code or name) to report to.")
                % {"ref": ref, "account": contact.account.name},
                field="reports_to",
            )
        return found


class Opportunities(Handler):
    UPDATABLE = (
        "name",
        "code",
        "amount",
        "currency",
        "expected_close",
        "buyer_stage",
        "description",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Playbook, stage and buyer-stage names as written -> their keys.
        self._known: dict[tuple, str] = {}
        self._tz = timezone.get_current_timezone()  # the import's, looked up once

    def row(self, row: Row) -> Step:
        values = row.values
        account = self.account(row)
        code = values.get("code") or None
        name = values.get("name") or ""
        self.once(row, ("code", code) if code else None, "code", code or "")
        self.once(row, (account.pk, name) if not code else None, "name", name)
        owner = self.owner(row)
        existing = self._existing(code, account, name)
        playbook = self._playbook(values.get("playbook"), existing)
        fields = self.fields(row, self.UPDATABLE)
        if "buyer_stage" in fields:
            fields["buyer_stage"] = self._buyer_stage(fields["buyer_stage"])
            if not fields["buyer_stage"]:
                fields.pop("buyer_stage")
        if fields.get("currency") == "":
            fields.pop("currency")
        stage = self._stage(playbook, values.get("stage"))
        if existing is None:
            fields.pop("name", None)
            return opportunity_services.opportunity_bring_in_build(
                actor=self.actor,
                account=account,
                name=name,
                playbook=playbook,
                owner=owner,
                stage=stage or None,
                stage_dates=values.get("stage_dates") or [],
                status=values.get("status") or Status.OPEN,
                closed_on=values.get("closed_on"),
                close_reason=values.get("close_reason") or "",
                check_code=not self.context.fast,
                tz=self._tz,
                **fields,
            )
        self._kept(row, existing, stage, values.get("status"))
        if owner is not None:
            fields["owner"] = owner
        return lambda: _changed(
            existing,
            opportunity_services.EDITABLE_FIELDS,
            lambda: opportunity_services.opportunity_update(
                actor=self.actor, opportunity=existing, **fields
            ),
        )

    def _existing(self, code: str | None, account: Account, name: str) -> Opportunity | None:
        if code:
            return _by_code(
                self.lookup(
                    ("code", code),
                    lambda: _first_and_mine(
                        Opportunity.objects.filter(code=code), opportunities_for_user(self.actor)
                    ),
                ),
                lambda: (
                    _("The code “%(code)s” belongs to a deal you cannot change.") % {"code": code}
                ),
            )
        return _the_one(
            self.lookup(
                ("name", account.pk, name),
                lambda: list(
                    opportunities_for_user(self.actor).filter(account=account, name=name)[:2]
                ),
            ),
            lambda: (
                _("Several deals at %(account)s are named “%(name)s”; give this row their code.")
                % {"account": account.name, "name": name}
            ),
            field="name",
        )

    def prefetch(self, rows: list[Row]) -> None:
        self.prefetch_accounts(rows)
        mine = lambda: opportunities_for_user(self.actor)  # noqa: E731
        self.prefetch_codes(rows, lambda: Opportunity.objects.all(), mine)
        self.prefetch_names(rows, mine)

    def keys_of(self, record: Opportunity) -> Iterable[tuple]:
        return (("name", record.account_id, record.name),)

    def _playbook(self, ref: str | None, existing: Opportunity | None) -> str:
        if existing is not None:
            return existing.playbook
        if not ref:
            return registry.default_playbook_key()
        known = self._known.get(("playbook", ref))
        if known is not None:
            return known
        for key in registry.playbook_keys():
            book = registry.playbook(key)
            if cols.normalise(ref) in {cols.normalise(s) for s in (key, *_names(book.name))}:
                self._known["playbook", ref] = key
                return key
        raise ValidationFailed(
            _("Unknown playbook “%(value)s”; use one of: %(keys)s.")
            % {"value": ref, "keys": ", ".join(registry.playbook_keys())},
            field="playbook",
        )

    def _stage(self, playbook: str, ref: str | None) -> str:
        if not ref:
            return ""
        known = self._known.get(("stage", playbook, ref))
        if known is not None:
            return known
        book = registry.playbook(playbook)
        for stage in book.stages:
            if cols.normalise(ref) in {cols.normalise(s) for s in (stage.key, *_names(stage.name))}:
                self._known["stage", playbook, ref] = stage.key
                return stage.key
        raise ValidationFailed(
            _("Unknown stage “%(value)s” in %(book)s; use one of: %(names)s.")
            % {
                "value": ref,
                "book": show(book.name),
                "names": ", ".join(show(s.name) for s in book.stages),
            },
            field="stage",
        )

    def _buyer_stage(self, ref: str) -> str:
        if not ref:
            return ""
        known = self._known.get(("buyer_stage", ref))
        if known is not None:
            return known
        process = registry.buyer_process()
        for stage in process.stages:
            if cols.normalise(ref) in {cols.normalise(s) for s in (stage.key, *_names(stage.name))}:
                self._known["buyer_stage", ref] = stage.key
                return stage.key
        raise ValidationFailed(
            _("Unknown buyer stage “%(value)s”; use one of: %(names)s.")
            % {"value": ref, "names": ", ".join(show(s.name) for s in process.stages)},
            field="buyer_stage",
        )

    def _kept(self, row: Row, opp: Opportunity, stage: str, status: str | None) -> None:
        """A deal in KAM keeps its stage and status: they move through key nodes."""
        differs = (stage and stage != opp.stage) or (status and status != opp.status)
        if differs:
            self.context.report.add(
                Problem(
                    self.title,
                    row.number,
                    row.headers.get("stage", "") or row.headers.get("status", ""),
                    _(
                        "Kept at %(stage)s (%(status)s) as in KAM: a deal moves through its "
                        "key nodes on its page, not by import."
                    )
                    % {
                        "stage": show(registry.playbook(opp.playbook).stage(opp.stage).name)
                        if opp.stage in registry.playbook(opp.playbook).stage_keys
                        else opp.stage,
                        "status": opp.get_status_display(),
                    },
                    warning=True,
                )
            )


class Revenue(Handler):
    def label(self, row: Row) -> str:
        return f"{row.values.get('account', '')} {row.values.get('date') or ''}".strip()

    def row(self, row: Row) -> Step:
        values = row.values
        account = self.account(row, editable=True)
        key = values.get("external_key") or None
        self.once(row, key, "external_key", key or "")
        if key:
            found, editable = self.lookup(
                ("external_key", key),
                lambda: _first_and_mine(
                    RevenueRecord.objects.filter(external_key=key), self._mine()
                ),
            )
            if found is not None:
                if not editable:
                    raise ValidationFailed(
                        _("The external key “%(key)s” belongs to revenue you cannot change.")
                        % {"key": key},
                        field="external_key",
                    )
                self._same(row, found, account)
                return UNCHANGED
        else:
            date, amount = values.get("date"), values.get("amount")
            found = self.lookup(
                ("line", account.pk, date, amount),
                lambda: RevenueRecord.objects.filter(
                    account=account, date=date, amount=amount
                ).first(),
            )
            if found is not None:
                return UNCHANGED
        return revenue_services.revenue_record_build(
            actor=self.actor,
            account=account,
            date=values.get("date"),
            amount=values.get("amount"),
            profit=values.get("profit"),
            source=values.get("source") or "",
            note=values.get("note") or "",
            external_key=key,
        )

    def prefetch(self, rows: list[Row]) -> None:
        self.prefetch_accounts(rows, editable=True)
        self.prefetch_codes(
            rows, lambda: RevenueRecord.objects.all(), self._mine, column="external_key"
        )
        lines = set()
        for row in rows:
            date, amount = row.values.get("date"), row.values.get("amount")
            account = self.cached_account(row, editable=True)
            # An amount with more than two decimals is left to the row's own query:
            # the database compares it rounded to the column's two.
            if (
                not row.values.get("external_key")
                and account is not None
                and date is not None
                and isinstance(amount, Decimal)
                and amount == amount.quantize(CENT)
            ):
                lines.add((account.pk, date, amount))
        if not lines:
            return
        found: dict[tuple, RevenueRecord] = {}
        for record in RevenueRecord.objects.filter(
            account_id__in={a for a, _d, _m in lines}, date__in={d for _a, d, _m in lines}
        ):
            found.setdefault((record.account_id, record.date, record.amount), record)
        for line in lines:
            self._cache["line", *line] = found.get(line)

    def _mine(self):
        """Revenue the user may change: at an account they may change."""
        return RevenueRecord.objects.filter(
            account__in=accounts_editable_by(self.actor).values("pk")
        )

    def keys_of(self, record: RevenueRecord) -> Iterable[tuple]:
        return (("line", record.account_id, record.date, record.amount),)

    def _same(self, row: Row, found: RevenueRecord, account: Account) -> None:
        differs = found.account_id != account.pk or any(
            k in row.values and row.values[k] != getattr(found, k)
            for k in ("date", "amount", "profit")
        )
        if differs:
            self.context.report.add(
                Problem(
                    self.title,
                    row.number,
                    row.headers.get("external_key", ""),
                    _(
                        "Revenue “%(key)s” was imported before with other figures; the record "
                        "in KAM is kept. Delete it on the account's page to import it again."
                    )
                    % {"key": found.external_key},
                    warning=True,
                )
            )


HANDLERS: dict[str, type[Handler]] = {
    "accounts": Accounts,
    "contacts": Contacts,
    "opportunities": Opportunities,
    "revenue": Revenue,
}
