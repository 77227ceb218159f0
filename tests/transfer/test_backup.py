"""`kam backup` / `kam restore BACKUP` (kam.transfer.backup): a copy of the database and
the uploaded documents, restored equal to the original on whichever engine the suite
runs (SQLite's online backup, or pg_dump/pg_restore with KAM_DATABASE_URL); refusals
leave the instance as it was. Then the commands themselves on fresh SQLite folders:
export/restore of the demo, and a backup taken while `kam serve` is being written to."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from kam.accounts.models import Account
from kam.accounts.services import account_create
from kam.core import clock
from kam.core.errors import Conflict, ValidationFailed
from kam.stakeholders.models import Stakeholder
from kam.stakeholders.services import stakeholder_remove
from kam.transfer.backup import backup, restore_backup
from kam.transfer.dump import kam_version, write_dump
from tests.partners.conftest import TODAY
from tests.transfer.test_dump import PDF, build_book, content, files_in, wipe

ENGINE = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@pytest.fixture
def folders(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.KAM_UPLOAD_DIR = settings.DATA_DIR / "uploads"
    return settings


@pytest.fixture
def book(transactional_db, world, folders):
    """The book of test_dump, committed: pg_dump reads it from another connection."""
    return build_book(world)


def snapshot(tmp_path: Path, name: str) -> dict:
    write_dump(tmp_path / name)
    return content(tmp_path / name)


def test_a_backup_restores_the_data_it_was_taken_of(book, folders, tmp_path):
    # given
    original = snapshot(tmp_path, "original.json")
    path = tmp_path / "kam.tar"
    message = backup(path)
    # and then the data changes: a record added, one removed, the document overwritten
    rep = book["won"].owner
    with clock.freeze(TODAY):
        account_create(actor=rep, name="Added after the backup")
        stakeholder_remove(actor=rep, stakeholder=Stakeholder.objects.order_by("pk").first())
    document = folders.KAM_UPLOAD_DIR / book["referral"].disclosure_file.name
    document.write_bytes(b"%PDF-1.4 changed")
    assert snapshot(tmp_path, "changed.json") != original
    # when
    restored = restore_backup(path, replace=True)
    # then
    assert snapshot(tmp_path, "restored.json") == original
    assert document.read_bytes() == PDF
    assert not Account.objects.filter(name="Added after the backup").exists()
    engine = ENGINE[connection.vendor]
    assert message.startswith(f"Backed up the {engine} database (")
    assert re.search(
        rf"\) and 1 document\(s\) to {re.escape(str(path))} \(\d+ [KM]B\)\. It holds password "
        rf"hashes: keep it private\. Restore with 'kam restore {re.escape(str(path))}'\.$",
        message,
    )
    assert restored.startswith(f"Restored kam.tar ({engine}, written ")
    assert restored.endswith(" and 1 document(s).")
    # and new records still get fresh ids
    with clock.freeze(TODAY):
        fresh = account_create(actor=rep, name="After the restore")
    assert fresh.pk > max(o["pk"] for o in original["objects"] if o["model"] == "accounts.account")


def test_a_backup_is_a_private_tar_of_the_database_documents_and_a_manifest(
    book, folders, tmp_path
):
    # when
    path = tmp_path / "kam.tar"
    with clock.freeze(dt.datetime(2026, 8, 10, 10, 0, 5, tzinfo=TODAY.tzinfo)):
        backup(path)
    # then
    assert oct(path.stat().st_mode)[-3:] == "600"
    with tarfile.open(path) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
        document = tar.extractfile(f"uploads/{book['referral'].disclosure_file.name}").read()
    database = {"sqlite": "kam.sqlite3", "postgresql": "kam.pgdump"}[connection.vendor]
    assert names == ["manifest.json", database, f"uploads/{book['referral'].disclosure_file.name}"]
    assert document == PDF
    assert manifest["format"] == "kam-backup"
    assert (manifest["version"], manifest["engine"], manifest["kam_version"]) == (
        1,
        connection.vendor,
        kam_version(),
    )
    assert manifest["created_at"] == "2026-08-10T10:00:05+08:00"
    assert (manifest["database"], manifest["documents"]) == (database, 1)
    assert manifest["migrations"]["opportunities"][0] == "0001_initial"
    assert "sessions" in manifest["migrations"]


def test_the_default_backup_goes_to_the_data_folder_named_by_the_time(book, folders):
    # when
    with clock.freeze(dt.datetime(2026, 8, 10, 10, 0, 5, tzinfo=TODAY.tzinfo)):
        first = backup()
        second = backup()
    # then: a second backup in the same second gets its own name
    folder = folders.DATA_DIR / "backups"
    assert sorted(p.name for p in folder.iterdir()) == [
        "kam-20260810-100005-2.tar",
        "kam-20260810-100005.tar",
    ]
    assert f"to {folder / 'kam-20260810-100005.tar'} (" in first
    assert f"to {folder / 'kam-20260810-100005-2.tar'} (" in second


def test_a_backup_never_overwrites_a_file(book, tmp_path):
    # given
    path = tmp_path / "kam.tar"
    path.write_bytes(b"an older backup")
    # when
    with pytest.raises(ValidationFailed) as refused:
        backup(path)
    # then
    assert refused.value.message == (
        f"{path} exists already; name a new file (a backup never overwrites another)."
    )
    assert path.read_bytes() == b"an older backup"


def test_a_backup_restores_into_an_empty_instance_without_replace(book, folders, tmp_path):
    # given
    original = snapshot(tmp_path, "original.json")
    backup(tmp_path / "kam.tar")
    wipe()
    shutil.rmtree(folders.KAM_UPLOAD_DIR)
    # when
    restore_backup(tmp_path / "kam.tar")
    # then
    assert snapshot(tmp_path, "restored.json") == original
    assert files_in(folders.KAM_UPLOAD_DIR) == {book["referral"].disclosure_file.name: PDF}


# --- refusals: each leaves the instance as it was -----------------------------------


@pytest.fixture
def taken(book, folders, tmp_path) -> tuple[Path, dict]:
    """A backup of the book, and the book as it is (a dump's content)."""
    path = tmp_path / "kam.tar"
    backup(path)
    return path, snapshot(tmp_path, "before.json")


def _refused(path: Path, tmp_path: Path, before: dict, error=ValidationFailed, **kw) -> str:
    with pytest.raises(error) as refused:
        restore_backup(path, **kw)
    assert snapshot(tmp_path, "after.json") == before
    assert refused.value.field == "file"
    return refused.value.message


def _rewrite(path: Path, *, manifest=None, database: bytes | None = None, extra=None) -> None:
    """Rewrite the backup at `path` with a changed manifest, database or an extra member."""
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(path, "w") as tar:
        for member, data in members:
            if member.name == "manifest.json" and manifest is not None:
                current = json.loads(data)
                current.update(manifest)
                data = json.dumps(current).encode()
            elif member.name.startswith("kam.") and database is not None:
                data = database
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        if extra is not None:
            info = tarfile.TarInfo(extra)
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))


def test_restore_over_data_needs_replace(taken, tmp_path):
    path, before = taken
    message = _refused(path, tmp_path, before, error=Conflict)
    assert message.startswith("This instance holds data (")
    assert message.endswith(
        "); restoring kam.tar would replace all of it. Take a backup of it first ('kam "
        "backup'), then restore with --replace."
    )


def test_a_backup_of_the_other_engine_is_refused_pointing_to_export(taken, tmp_path):
    # given
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    path, before = taken
    _rewrite(path, manifest={"engine": other})
    # then
    assert _refused(path, tmp_path, before, replace=True) == (
        f"kam.tar is a backup of a {ENGINE[other]} database; this instance runs on "
        f"{ENGINE[connection.vendor]}. A backup restores only into the same engine: to move "
        "between SQLite and PostgreSQL, run 'kam export FILE.json' on the old instance and "
        "'kam restore FILE.json' on the new one."
    )


def test_a_damaged_database_copy_is_refused(taken, tmp_path):
    # given
    path, before = taken
    _rewrite(path, database=b"SQLite format 3\x00" + b"\x07" * 5000)
    # then
    message = _refused(path, tmp_path, before, replace=True)
    assert message.startswith("kam.tar is not a KAM backup (its ")
    assert " is damaged: " in message


def test_a_backup_from_a_newer_kam_is_refused(taken, tmp_path):
    # given
    path, before = taken
    _rewrite(
        path,
        manifest={"kam_version": "2.0.0", "migrations": {"accounts": ["0099_from_the_future"]}},
    )
    # then
    assert _refused(path, tmp_path, before, replace=True) == (
        f"kam.tar comes from a newer KAM (2.0.0): its database has changes this KAM "
        f"({kam_version()}) does not know (accounts.0099_from_the_future). Upgrade KAM to "
        "2.0.0 or later, then restore."
    )


def test_another_backup_format_version_is_refused(taken, tmp_path):
    path, before = taken
    _rewrite(path, manifest={"version": 7, "kam_version": "3.1.0"})
    assert _refused(path, tmp_path, before, replace=True) == (
        f"kam.tar is a KAM backup of format version 7, written by KAM 3.1.0; this KAM "
        f"({kam_version()}) reads version 1. Restore it with KAM 3.1.0."
    )


@pytest.mark.parametrize(
    ("extra", "why"),
    [("../outside.txt", "it holds '../outside.txt'"), ("notes.txt", "it holds 'notes.txt'")],
)
def test_a_backup_holding_something_else_is_refused(taken, tmp_path, extra, why):
    path, before = taken
    _rewrite(path, extra=extra)
    assert _refused(path, tmp_path, before, replace=True).startswith(
        f"kam.tar is not a KAM backup ({why})."
    )
    assert not (tmp_path / "outside.txt").exists()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"just some text", "not a .tar archive, or a damaged one)"),
        (None, "no manifest.json in it"),
    ],
)
def test_a_file_that_is_not_a_backup_is_refused(taken, tmp_path, data, why):
    # given
    path, before = taken
    if data is None:  # a tar, but not one of ours
        path.unlink()
        with tarfile.open(path, "w") as tar:
            info = tarfile.TarInfo("readme.txt")
            tar.addfile(info, io.BytesIO(b""))
    else:
        path.write_bytes(data)
    # then
    assert _refused(path, tmp_path, before, replace=True).startswith(
        f"kam.tar is not a KAM backup ({why}"
    )


def test_a_missing_backup_file_is_named(taken, tmp_path):
    path, before = taken
    message = _refused(tmp_path / "nowhere.tar", tmp_path, before, replace=True)
    assert message == f"There is no file {str(tmp_path / 'nowhere.tar')!r}."


# --- the commands, on fresh SQLite data folders --------------------------------------

KAM = [sys.executable, "-m", "kam.cli"]
RELEASE_WITH_PDF = """
from django.core.files.uploadedfile import SimpleUploadedFile
from kam.partners.models import Referral
from kam.partners.services import referral_release
from kam.users.models import User
held = Referral.objects.filter(conflict=True, released_at__isnull=True).order_by("pk").first()
referral_release(actor=User.objects.get(username="admin"), referral=held, note="signed",
                 document=SimpleUploadedFile("ok.pdf", b"%PDF-1.4 signed", "application/pdf"))
from kam.users.services import token_create
print(token_create(user=User.objects.get(username="admin"), name="test"))
"""


def run(data_dir: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "KAM_DATA_DIR": str(data_dir)}
    env.pop("KAM_DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [*KAM, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    """A data folder holding the demo and one released referral with its document."""
    folder = tmp_path_factory.mktemp("demo")
    assert run(folder, "demo").returncode == 0
    released = run(folder, "manage", "shell", "-c", RELEASE_WITH_PDF)
    assert released.returncode == 0, released.stderr
    (folder / "admin-token").write_text(released.stdout.split()[-1])
    return folder


def _objects(path: Path) -> list[dict]:
    return json.loads(path.read_text("utf-8"))["objects"]


@pytest.mark.sqlite_cli
def test_kam_export_and_restore_move_the_demo_to_a_fresh_folder(demo_folder, tmp_path):
    # given
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    # when
    exported = run(demo_folder, "export", str(tmp_path / "demo.json"))
    restored = run(fresh, "restore", str(tmp_path / "demo.json"))
    again = run(fresh, "export", str(tmp_path / "again.json"))
    refused = run(fresh, "restore", str(tmp_path / "demo.json"))
    # then
    assert exported.returncode == 0, exported.stderr
    assert restored.returncode == 0, restored.stderr
    assert again.returncode == 0, again.stderr
    assert content(tmp_path / "again.json") == content(tmp_path / "demo.json")
    assert files_in(fresh / "uploads") == files_in(demo_folder / "uploads")
    assert len(files_in(fresh / "uploads")) == 1
    assert "1 document(s)" in restored.stdout
    assert refused.returncode == 2
    assert refused.stderr.startswith("kam: This instance already holds data (")
    assert refused.stderr.endswith(" (file)\n")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, token: str, body: dict) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/accounts",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


@pytest.mark.sqlite_cli
def test_kam_backup_while_the_server_writes_restores_a_consistent_copy(demo_folder, tmp_path):
    # given: a copy of the demo folder served by `kam serve`, a client adding accounts
    live, fresh = tmp_path / "live", tmp_path / "fresh"
    shutil.copytree(demo_folder, live)
    fresh.mkdir()
    token = (live / "admin-token").read_text()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "KAM_DATABASE_URL"}
    server = subprocess.Popen(
        [*KAM, "serve", "--port", str(port)],
        env={**env, "KAM_DATA_DIR": str(live)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    written: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            name = f"w-{len(written) + 1:04d}"
            assert _post(port, token, {"name": name}) == 201
            written.append(name)

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _post(port, token, {"name": "w-0000"})
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "no server"
                time.sleep(0.2)
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while len(written) < 5:
            assert time.monotonic() < deadline and thread.is_alive(), "the writes stopped"
            time.sleep(0.05)
        # when: backed up in the middle of the writes
        backed = run(live, "backup", str(tmp_path / "live.tar"))
        during = len(written)
        time.sleep(0.3)
        stop.set()
        thread.join(timeout=20)
    finally:
        server.terminate()
        server.wait(timeout=20)
    restored = run(fresh, "restore", str(tmp_path / "live.tar"))
    # then
    assert backed.returncode == 0, backed.stderr
    assert restored.returncode == 0, restored.stderr
    assert len(written) > during  # the server went on writing after the backup
    assert run(live, "export", str(tmp_path / "live.json")).returncode == 0
    assert run(fresh, "export", str(tmp_path / "fresh.json")).returncode == 0
    live_objects = {(o["model"], o["pk"]): o for o in _objects(tmp_path / "live.json")}
    copy = _objects(tmp_path / "fresh.json")
    # every record of the copy is the live one as it is now (tokens aside: their
    # last use moves on) ...
    for obj in copy:
        if obj["model"] != "users.apitoken":
            assert live_objects[(obj["model"], obj["pk"])] == obj
    # ... the copy holds the first k accounts written, none after a gap ...
    names = sorted(
        o["fields"]["name"]
        for o in copy
        if o["model"] == "accounts.account" and o["fields"]["name"].startswith("w-")
    )
    assert names == [f"w-{i:04d}" for i in range(len(names))]
    assert 5 <= len(names) - 1 <= during + 1  # + one committed, not yet counted
    # ... and all the live instance holds beyond it are later accounts and their events
    extra = set(live_objects) - {(o["model"], o["pk"]) for o in copy}
    assert {model for model, _ in extra} <= {"accounts.account", "core.event"}
    assert len([k for k in extra if k[0] == "accounts.account"]) == len(written) + 1 - len(names)
    # the uploaded document came along
    assert files_in(fresh / "uploads") == files_in(live / "uploads")


OLD_BACKUP = """
from django.core.management import call_command
from kam.transfer.backup import backup
from kam.users.services import user_create
call_command("migrate", verbosity=0)
call_command("migrate", "opportunities", "0003", verbosity=0)
user_create(username="li", role="admin", password="pass-word-1")
backup({path!r})
"""
CHECK_RESTORED = """
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from kam.users.models import User
applied = MigrationRecorder(connection).applied_migrations()
print(("opportunities", "0004_project_completed") in applied, User.objects.get().username)
"""


@pytest.mark.sqlite_cli
def test_a_backup_from_an_older_schema_is_restored_and_brought_up_to_date(tmp_path):
    # given: a backup of a database one migration behind this KAM
    old, fresh, path = tmp_path / "old", tmp_path / "fresh", tmp_path / "old.tar"
    old.mkdir()
    fresh.mkdir()
    taken = run(old, "manage", "shell", "-c", OLD_BACKUP.format(path=str(path)))
    assert taken.returncode == 0, taken.stderr
    with tarfile.open(path) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["migrations"]["opportunities"][-1] == "0003_process_engine"
    # when
    restored = run(fresh, "restore", str(path))
    # then: migrated to this KAM's schema, the data kept
    assert restored.returncode == 0, restored.stderr
    assert run(fresh, "manage", "shell", "-v", "0", "-c", CHECK_RESTORED).stdout == "True li\n"


def test_a_missing_pg_tool_says_what_to_install(monkeypatch):
    from kam.transfer import backup as module

    monkeypatch.setattr(module.shutil, "which", lambda name: None)
    with pytest.raises(ValidationFailed) as refused:
        module._pg_command("pg_dump")
    assert refused.value.message == (
        "pg_dump is not installed, and backing up PostgreSQL needs it: install the "
        "PostgreSQL client of the server's version (Debian: apt install "
        "postgresql-client-15), then try again."
    )


def test_a_failing_pg_tool_shows_what_it_said():
    from kam.transfer.backup import _run

    failing = [
        sys.executable,
        "-c",
        "import sys; sys.stderr.write('pg_dump: error: connection refused\\n'); sys.exit(1)",
    ]
    with pytest.raises(ValidationFailed) as refused:
        _run(failing, dict(os.environ), "pg_dump")
    assert refused.value.message == "pg_dump failed: pg_dump: error: connection refused"
