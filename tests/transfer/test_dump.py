"""`kam export FILE.json` / `kam restore FILE.json` (kam.transfer.dump): a dump of every
record and uploaded document loads into an empty instance equal to the original, on
whichever engine the suite runs (SQLite, or PostgreSQL with KAM_DATABASE_URL); a file
that is broken, foreign, of another version or schema, or an instance holding data,
is refused with a message and nothing is written."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core import serializers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.color import no_style
from django.db import connection

from kam.accounts.models import Account
from kam.accounts.revenue import revenue_record_add
from kam.accounts.services import account_create
from kam.contacts.services import contact_create
from kam.core import clock
from kam.core.errors import Conflict, ValidationFailed
from kam.opportunities import process
from kam.opportunities.services import opportunity_create
from kam.partners import services as partners
from kam.stakeholders.services import stakeholder_add
from kam.transfer.dump import (
    _line,
    applied_migrations,
    dumped_models,
    instance_counts,
    kam_version,
    load_dump,
    write_dump,
)
from kam.users.models import User
from kam.users.services import token_create
from tests.partners.conftest import TODAY, at, make_partner, pay, refer, won_deal

PDF = "%PDF-1.4\n% 客户书面知情同意函\n%%EOF\n".encode()


# --- helpers shared with test_backup.py ---------------------------------------------


def build_book(world) -> dict:
    """A small instance with one of everything that matters, written through the
    services: accounts with revenue, contacts with reports_to, a won deal taken through
    stages (events, milestones, forced moves), an open deal advanced by force, a
    buying centre, criteria, a partner whose held commission was released with the
    customer's signed PDF, a collection, a payout, and an API token."""
    rep, admin = world.rep_a, world.admin
    with clock.freeze(at(2025, 11, 3)):
        buyer = account_create(actor=rep, name="苏州博远精密机械", industry="机床")
        west = account_create(actor=world.rep_c, name="West Machining")
        boss = contact_create(actor=rep, account=buyer, name="王总", title="总经理")
        engineer = contact_create(
            actor=rep, account=buyer, name="李工", title="工程师", reports_to=boss
        )
        revenue_record_add(
            actor=rep,
            account=buyer,
            date=dt.date(2025, 10, 31),
            amount="123456.78",
            external_key="ERP-2025-001",
        )
    won = won_deal(rep, buyer, "虎钳及夹具", "40000", at(2026, 2, 10))
    with clock.freeze(at(2026, 1, 20)):
        stakeholder_add(
            actor=rep, opportunity=won, contact=boss, roles=["decision_maker"], stance="champion"
        )
        stakeholder_add(actor=rep, opportunity=won, contact=engineer, roles=["technical"])
    with clock.freeze(at(2026, 3, 2)):
        open_deal = opportunity_create(
            actor=world.rep_c,
            account=west,
            name="Spindles",
            amount="250000.50",
            expected_close=dt.date(2026, 12, 31),
        )
        process.criterion_add(
            actor=world.rep_c, opportunity=open_deal, text="交期 8 周", shaped_by_us=True
        )
    with clock.freeze(at(2026, 3, 9)):
        process.opportunity_advance(
            actor=world.manager_west, opportunity=open_deal, force=True, reason="客户要求先报价"
        )
    partner = make_partner(rep, "李四", employer=buyer, phone="13800000000")
    referral = refer(rep, partner, won)
    pay(rep, won, "40000", dt.date(2026, 3, 1), reference="回款-1")
    with clock.freeze(TODAY):
        partners.referral_release(
            actor=admin,
            referral=referral,
            note="客户书面同意,王总签字",
            document=SimpleUploadedFile("同意函.pdf", PDF, "application/pdf"),
        )
        partners.payout_record(actor=admin, partner=partner, period="2026H1")
        token_create(user=rep, name="ERP sync")
    referral.refresh_from_db()
    return {
        "buyer": buyer,
        "won": won,
        "open": open_deal,
        "referral": referral,
        "engineer": engineer,
    }


def wipe() -> None:
    """Empty every table a dump fills (ids start again at 1)."""
    models_ = dumped_models()
    tables = [m._meta.db_table for m in models_] + [
        f.remote_field.through._meta.db_table for m in models_ for f in m._meta.local_many_to_many
    ]
    connection.check_constraints()  # PostgreSQL: no deferred checks pending at TRUNCATE
    connection.ops.execute_sql_flush(
        connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    )


def content(path: Path) -> dict:
    """What a dump holds, without when it was written."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"objects": data["objects"], "files": data["files"], "end": data["end"]}


def files_in(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def uploads(settings, tmp_path):
    settings.KAM_UPLOAD_DIR = tmp_path / "uploads"
    return settings.KAM_UPLOAD_DIR


@pytest.fixture
def book(world, uploads):
    return build_book(world)


# --- the round trip -----------------------------------------------------------------


def test_a_dump_loads_into_an_empty_instance_equal_to_the_original(book, uploads, tmp_path):
    # given
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    write_dump(first)
    before = content(first)
    counts = instance_counts()
    last_account = Account.objects.order_by("-pk").first().pk
    wipe()
    for f in uploads.rglob("*"):
        if f.is_file():
            f.unlink()
    assert sum(instance_counts().values()) == 0
    # when
    message = load_dump(first)
    # then: every record and the document are back, the same
    write_dump(second)
    assert content(second) == before
    assert instance_counts() == counts
    assert files_in(uploads) == {f"disclosures/referral-{book['referral'].pk}.pdf": PDF}
    assert "Loaded first.json" in message
    assert f"{sum(counts.values())} records" in message and "1 document(s)" in message
    # the passwords and tokens work as before
    assert User.objects.get(username="rep_a").check_password("rep-pass-123")
    # and new records get fresh ids (PostgreSQL's sequences were moved past the loaded ids)
    with clock.freeze(TODAY):
        fresh = account_create(actor=User.objects.get(username="rep_a"), name="After restore")
    assert fresh.pk == last_account + 1


def test_the_dump_is_a_private_json_file_of_one_record_a_line(book, tmp_path):
    # given
    path = tmp_path / "kam.json"
    # when
    message = write_dump(path)
    # then
    assert oct(path.stat().st_mode)[-3:] == "600"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["format"], data["version"], data["kam_version"], data["engine"]) == (
        "kam-dump",
        1,
        kam_version(),
        connection.vendor,
    )
    assert data["migrations"] == applied_migrations()
    assert data["migrations"]["users"] == ["0001_initial", "0002_sessions_and_login_failures"]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1] == '"objects": ['
    assert len(lines) == 2 + len(data["objects"]) + 2 + len(data["files"]) + 2
    models_in_file = {o["model"] for o in data["objects"]}
    assert "sessions.session" not in models_in_file
    assert "contenttypes.contenttype" not in models_in_file
    assert "auth.permission" not in models_in_file
    users = [o for o in data["objects"] if o["model"] == "users.user"]
    assert users[0]["fields"]["password"].startswith("md5$")
    token = next(o for o in data["objects"] if o["model"] == "users.apitoken")
    assert len(token["fields"]["key_hash"]) == 64
    # datetimes keep their microseconds (Django's own JSON encoder keeps milliseconds)
    joined = User.objects.get(pk=users[0]["pk"]).date_joined
    assert users[0]["fields"]["date_joined"] == joined.isoformat()
    assert [(f["path"], f["size"]) for f in data["files"]] == [
        (f"disclosures/referral-{book['referral'].pk}.pdf", len(PDF))
    ]
    assert data["end"]["missing_documents"] == []
    assert "It holds password hashes: keep it private." in message


def test_each_record_is_written_as_djangos_serializer_writes_it(book, tmp_path):
    # given: what Django's own serializer makes of every record, at full precision
    expected = [
        json.loads(_line(obj))
        for model in dumped_models()
        for obj in serializers.serialize("python", model._base_manager.order_by("pk"))
    ]
    # when
    write_dump(tmp_path / "kam.json")
    # then
    assert json.loads((tmp_path / "kam.json").read_text("utf-8"))["objects"] == expected
    assert {o["model"] for o in expected} >= {
        "users.user",
        "users.apitoken",
        "contacts.contact",
        "partners.referral",
        "partners.payout",
        "opportunities.forcedmove",
        "accounts.revenuerecord",
    }


def test_a_reformatted_dump_still_loads(book, uploads, tmp_path):
    # given: the dump pretty-printed by another tool
    path = tmp_path / "kam.json"
    write_dump(path)
    before = content(path)
    path.write_text(json.dumps(json.loads(path.read_text("utf-8")), indent=2), "utf-8")
    wipe()
    # when
    load_dump(path)
    # then
    write_dump(tmp_path / "again.json")
    assert content(tmp_path / "again.json") == before


def test_a_document_missing_from_the_upload_folder_is_reported_not_fatal(book, uploads, tmp_path):
    # given
    (uploads / book["referral"].disclosure_file.name).unlink()
    # when
    message = write_dump(tmp_path / "kam.json")
    # then
    data = json.loads((tmp_path / "kam.json").read_text("utf-8"))
    assert data["files"] == []
    assert data["end"]["missing_documents"] == [book["referral"].disclosure_file.name]
    assert "1 document(s) the records point to were missing" in message


# --- refusals -----------------------------------------------------------------------


def test_a_dump_is_not_loaded_into_an_instance_holding_data(book, tmp_path):
    # given
    path = tmp_path / "kam.json"
    write_dump(path)
    before = instance_counts()
    # when
    with pytest.raises(Conflict) as refused:
        load_dump(path)
    # then
    assert "This instance already holds data (" in refused.value.message
    assert "a dump loads only into an empty one" in refused.value.message
    assert instance_counts() == before


def _rewrite_header(path: Path, **changes) -> None:
    lines = path.read_text("utf-8").split("\n")
    header = json.loads(lines[0][:-1] + "}")
    header.update(changes)
    lines[0] = json.dumps(header, ensure_ascii=False)[:-1] + ","
    path.write_text("\n".join(lines), "utf-8")


@pytest.fixture
def emptied_dump(book, uploads, tmp_path) -> Path:
    """A good dump of the book, and the instance emptied."""
    path = tmp_path / "kam.json"
    write_dump(path)
    wipe()
    for f in uploads.rglob("*"):
        if f.is_file():
            f.unlink()
    return path


def _refused(path: Path, uploads: Path) -> str:
    with pytest.raises(ValidationFailed) as refused:
        load_dump(path)
    assert sum(instance_counts().values()) == 0
    assert files_in(uploads) == {}
    assert refused.value.field == "file"
    return refused.value.message


def test_a_broken_line_is_refused_naming_it(emptied_dump, uploads):
    # given: one record's line damaged (its closing brace lost)
    lines = emptied_dump.read_text("utf-8").split("\n")
    i = next(i for i, line in enumerate(lines) if line.startswith('{"model":"contacts.contact"'))
    lines[i] = lines[i].removesuffix(",").removesuffix("}")
    emptied_dump.write_text("\n".join(lines), "utf-8")
    # then
    message = _refused(emptied_dump, uploads)
    assert message == (
        f"kam.json, line {i + 1}: not JSON (Expecting ',' delimiter at column "
        f"{len(lines[i]) + 1}). Nothing was loaded."
    )


def test_a_dump_cut_short_is_refused_and_nothing_is_loaded(emptied_dump, uploads):
    # given: the file ends half-way through its records
    lines = emptied_dump.read_text("utf-8").splitlines()
    emptied_dump.write_text("\n".join(lines[: len(lines) // 2]) + "\n", "utf-8")
    # then
    assert _refused(emptied_dump, uploads) == (
        "kam.json: it ends before its last line: the file was cut short. Nothing was loaded."
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"hello": "world"}', 'no "format": "kam-dump" at its top'),
        ("[1, 2, 3]", 'no "format": "kam-dump" at its top'),
        ("accounts;contacts\n1;2\n", "broken JSON at line 1, column 1: Expecting value"),
        (
            '{\n  "format": "kam-dump",\n  "objects": [\n',
            "broken JSON at line 4, column 1: Expecting value",
        ),
    ],
)
def test_a_file_that_is_not_a_dump_is_refused(emptied_dump, uploads, text, why):
    emptied_dump.write_text(text, "utf-8")
    assert _refused(emptied_dump, uploads).startswith(f"kam.json is not a KAM dump ({why}).")


def test_a_binary_file_is_refused(emptied_dump, uploads):
    emptied_dump.write_bytes(b"PK\x03\x04\xff\xfe\x00\x00")
    assert _refused(emptied_dump, uploads).startswith(
        "kam.json is not a KAM dump (not UTF-8 text)."
    )


def test_another_dump_format_version_is_refused_naming_the_kam_to_use(emptied_dump, uploads):
    _rewrite_header(emptied_dump, version=2, kam_version="0.9.0")
    assert _refused(emptied_dump, uploads) == (
        f"kam.json is a KAM dump of format version 2, written by KAM 0.9.0; this KAM "
        f"({kam_version()}) reads version 1. Load it with KAM 0.9.0."
    )


def test_a_dump_from_a_newer_schema_is_refused(emptied_dump, uploads):
    # given
    migrations = applied_migrations()
    migrations["accounts"].append("0099_from_the_future")
    _rewrite_header(emptied_dump, migrations=migrations, kam_version="2.0.0")
    # then
    assert _refused(emptied_dump, uploads) == (
        f"This dump comes from a newer KAM (2.0.0): its database has changes this KAM "
        f"({kam_version()}) does not know (accounts.0099_from_the_future). Upgrade KAM to "
        "2.0.0 or later, then restore."
    )


def test_a_dump_from_an_older_schema_is_refused_naming_the_kam_to_use(emptied_dump, uploads):
    # given
    migrations = applied_migrations()
    last = migrations["opportunities"].pop()
    _rewrite_header(emptied_dump, migrations=migrations, kam_version="0.0.9")
    # then
    message = _refused(emptied_dump, uploads)
    assert message == (
        f"This dump was written by KAM 0.0.9 at another database schema than this KAM "
        f"({kam_version()}) has (opportunities: file "
        f"{migrations['opportunities'][-1]}, here {last}). Load it with KAM 0.0.9 into an "
        "empty instance, then upgrade that instance (kam serve migrates it) and export again."
    )


def _edit_object(path: Path, model: str, change) -> None:
    lines = path.read_text("utf-8").split("\n")
    for i, line in enumerate(lines):
        if line.startswith(f'{{"model":"{model}"'):
            comma = line.endswith(",")
            obj = json.loads(line.removesuffix(","))
            change(obj)
            lines[i] = json.dumps(obj, ensure_ascii=False) + ("," if comma else "")
            break
    path.write_text("\n".join(lines), "utf-8")


def test_a_record_pointing_nowhere_rolls_back_the_whole_load(emptied_dump, uploads):
    # given: the second contact reports to a contact the dump does not hold; the
    # records before it load fine, then the check fails
    def dangling(obj):
        if obj["fields"]["reports_to"] is not None:
            obj["fields"]["reports_to"] = 999999

    lines = emptied_dump.read_text("utf-8").split("\n")
    contacts = [i for i, line in enumerate(lines) if line.startswith('{"model":"contacts')]
    obj = json.loads(lines[contacts[1]].removesuffix(","))
    dangling(obj)
    lines[contacts[1]] = json.dumps(obj, ensure_ascii=False) + ","
    emptied_dump.write_text("\n".join(lines), "utf-8")
    # then
    message = _refused(emptied_dump, uploads)
    # the message is the database's (SQLite and PostgreSQL word it differently)
    assert message.startswith("kam.json: ")
    assert "contacts_contact" in message
    assert message.endswith(". Nothing was loaded.")


def test_a_record_written_twice_is_refused(emptied_dump, uploads):
    # given: one event's line repeated (same id)
    lines = emptied_dump.read_text("utf-8").split("\n")
    i = next(i for i, line in enumerate(lines) if line.startswith('{"model":"core.event"'))
    lines.insert(i, lines[i])
    emptied_dump.write_text("\n".join(lines), "utf-8")
    # then: the database's words for a duplicate key
    message = _refused(emptied_dump, uploads)
    assert message.startswith("kam.json: the core.event records: ")
    assert "UNIQUE" in message.upper()
    assert message.endswith(". Nothing was loaded.")


def test_a_bad_value_is_refused_naming_its_line(emptied_dump, uploads):
    # given
    _edit_object(
        emptied_dump, "accounts.account", lambda o: o["fields"].update(created_at="yesterday")
    )
    line = next(
        i
        for i, text in enumerate(emptied_dump.read_text("utf-8").split("\n"), 1)
        if text.startswith('{"model": "accounts.account"')
    )
    # then
    message = _refused(emptied_dump, uploads)
    assert message.startswith(f"kam.json, line {line}: ")
    assert "yesterday" in message
    assert message.endswith(". Nothing was loaded.")


def test_a_record_of_a_foreign_model_is_refused(emptied_dump, uploads):
    _edit_object(emptied_dump, "accounts.account", lambda o: o.update(model="sessions.session"))
    message = _refused(emptied_dump, uploads)
    assert "'sessions.session' is not something a KAM dump holds. Nothing was loaded." in message


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda f: f.update(data=f["data"][:-8] + "AAAAAAA="), "is damaged (size or checksum)"),
        (lambda f: f.update(data="not base64!"), "is not valid base64"),
        (
            lambda f: f.update(path="../../outside.pdf"),
            "a document path that is not allowed: '../../outside.pdf'",
        ),
        (
            lambda f: f.update(path="disclosures/other.pdf"),
            "the document 'disclosures/other.pdf' belongs to no record",
        ),
    ],
)
def test_a_tampered_document_is_refused_and_nothing_is_written(
    emptied_dump, uploads, tmp_path, change, why
):
    # given
    lines = emptied_dump.read_text("utf-8").split("\n")
    at_files = lines.index('"files": [') + 1
    entry = json.loads(lines[at_files].removesuffix(","))
    change(entry)
    lines[at_files] = json.dumps(entry)
    emptied_dump.write_text("\n".join(lines), "utf-8")
    # then
    message = _refused(emptied_dump, uploads)
    assert why in message and message.startswith(f"kam.json, line {at_files + 1}: ")
    assert not (tmp_path / "outside.pdf").exists()


def test_edited_counts_are_refused(emptied_dump, uploads):
    # given: a record removed by hand
    lines = emptied_dump.read_text("utf-8").split("\n")
    i = next(i for i, line in enumerate(lines) if line.startswith('{"model":"core.event"'))
    del lines[i]
    emptied_dump.write_text("\n".join(lines), "utf-8")
    # then
    assert "records are missing or added (core.event: " in _refused(emptied_dump, uploads)


def test_a_missing_file_is_named(db, tmp_path):
    with pytest.raises(ValidationFailed) as refused:
        load_dump(tmp_path / "nowhere.json")
    assert refused.value.message == f"There is no file {str(tmp_path / 'nowhere.json')!r}."


def test_export_into_a_missing_folder_is_a_clear_error(db, tmp_path):
    with pytest.raises(ValidationFailed) as refused:
        write_dump(tmp_path / "no" / "such" / "kam.json")
    assert refused.value.message == (
        f"There is no folder {str(tmp_path / 'no' / 'such')!r} to write into."
    )


def test_accounts_are_counted_in_the_refusal(book, tmp_path):
    # the message says what is there, largest first
    path = tmp_path / "kam.json"
    write_dump(path)
    with pytest.raises(Conflict) as refused:
        load_dump(path)
    assert f"{Account.objects.count()} accounts" in refused.value.message


def test_kept_assessments_of_an_emptied_instance_do_not_outlive_the_load(book, uploads, tmp_path):
    # given: the book's assessments kept, then one made stale on purpose (a probability
    # no rule gives), and the instance emptied with its derived rows left behind
    from kam.opportunities import assess, stored
    from kam.opportunities.models import FactsRevision, Opportunity, StoredAssessment

    path = tmp_path / "kam.json"
    write_dump(path)
    open_ids = list(Opportunity.objects.filter(status="open").values_list("pk", flat=True))
    stored.summaries_of(open_ids)
    StoredAssessment.objects.filter(opportunity_id=open_ids[0]).update(probability=77)
    left = (list(StoredAssessment.objects.all()), list(FactsRevision.objects.all()))
    wipe()
    for f in uploads.rglob("*"):
        if f.is_file():
            f.unlink()
    # (on PostgreSQL the wipe's TRUNCATE fires no trigger: the derived rows stay)
    StoredAssessment.objects.bulk_create(left[0], ignore_conflicts=True)
    FactsRevision.objects.bulk_create(left[1], ignore_conflicts=True)
    # when
    load_dump(path)
    # then: the deals that took those ids again are assessed afresh
    assert not StoredAssessment.objects.exists()
    fresh = {
        pk: stored.summary_of(a)
        for pk, a in assess.assess_many(Opportunity.objects.filter(pk__in=open_ids)).items()
    }
    assert stored.summaries_of(open_ids) == fresh
    assert fresh[open_ids[0]].probability != 77
