"""`kam import FILE` as an operator runs it: a real process on a fresh SQLite data
folder, reading what it prints and what the database holds afterwards (through
sqlite3, not Django). A kill -9 in the middle of a large import leaves the database
exactly as before, intact, and the same file then imports."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.transfer.conftest import ACCOUNT_HEADERS, DEAL_HEADERS, account_row, deal_row, write_csv

KAM = [sys.executable, "-m", "kam.cli"]

# Each test runs `kam` on a fresh SQLite folder of its own (see the marker in pyproject).
pytestmark = pytest.mark.sqlite_cli


def env_for(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "KAM_DATA_DIR": str(data_dir)}
    env.pop("KAM_DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def run(data_dir: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*KAM, *args],
        env=env_for(data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory) -> Path:
    """A data folder with its database migrated and one admin, `boss`."""
    folder = tmp_path_factory.mktemp("kam-template")
    made = run(folder, "user", "add", "boss", "--role", "admin", "--password", "a-good-pass-1")
    assert made.returncode == 0, made.stderr
    return folder


@pytest.fixture
def data_dir(template_dir, tmp_path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(template_dir, folder)
    return folder


def database(data_dir: Path) -> dict[str, tuple[int, str]]:
    """Every table's row count and a hash of its rows, read with sqlite3."""
    with sqlite3.connect(data_dir / "kam.sqlite3") as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        out = {}
        for table in tables:
            rows = db.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()
            out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def count(data_dir: Path, table: str) -> int:
    return database(data_dir)[table][0]


def good_accounts(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "accounts.csv",
        [ACCOUNT_HEADERS, account_row("A1", "华东机械"), account_row("A2", "华南机械")],
    )


def deals_with_a_bad_row(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "deals.csv",
        [DEAL_HEADERS, deal_row("D1", "A1"), deal_row("D2", "A1", "Second", close="2026-13-01")],
    )


def test_a_good_file_imports_exits_0_and_prints_the_counts(data_dir, tmp_path):
    # when
    result = run(data_dir, "import", str(good_accounts(tmp_path)))
    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Importing accounts.csv as boss…",
        "Accounts: 2 rows — 2 new, 0 updated, 0 unchanged, 0 with errors",
        "Imported 2 rows.",
    ]
    assert count(data_dir, "accounts_account") == 2
    # and again: nothing new
    again = run(data_dir, "import", str(good_accounts(tmp_path)))
    assert "Accounts: 2 rows — 0 new, 0 updated, 2 unchanged, 0 with errors" in again.stdout
    assert count(data_dir, "accounts_account") == 2


def test_a_bad_file_exits_2_names_the_row_and_writes_nothing(data_dir, tmp_path):
    # given
    assert run(data_dir, "import", str(good_accounts(tmp_path))).returncode == 0
    before = database(data_dir)
    # when
    result = run(data_dir, "import", "--kind", "opportunities", str(deals_with_a_bad_row(tmp_path)))
    # then
    assert result.returncode == 2
    assert result.stdout.splitlines()[1:] == [
        "Opportunities: 2 rows — 1 new, 0 updated, 0 unchanged, 1 with errors",
        "  error: Opportunities row 3, Expected close*: “2026-13-01” is not a date; write it as "
        "YYYY-MM-DD, e.g. 2026-03-05.",
        "1 errors: nothing was written. Fix the rows above and import again, or add "
        "--valid-only to import only the rows without errors.",
    ]
    assert "Traceback" not in result.stderr
    assert database(data_dir) == before


def test_dry_run_checks_and_writes_nothing(data_dir, tmp_path):
    # given
    before = database(data_dir)
    # when
    good = run(data_dir, "import", "--dry-run", str(good_accounts(tmp_path)))
    bad = run(data_dir, "import", "--dry-run", str(deals_with_a_bad_row(tmp_path)))
    # then
    assert good.returncode == 0, good.stderr
    assert good.stdout.splitlines()[0] == "Checking accounts.csv as boss…"
    assert good.stdout.splitlines()[-1] == "The file can be imported (nothing written: --dry-run)."
    assert bad.returncode == 2
    assert bad.stdout.splitlines()[-1] == "2 errors; nothing written (--dry-run)."
    assert database(data_dir) == before


def test_valid_only_imports_the_good_rows(data_dir, tmp_path):
    # given
    assert run(data_dir, "import", str(good_accounts(tmp_path))).returncode == 0
    # when
    result = run(data_dir, "import", "--valid-only", str(deals_with_a_bad_row(tmp_path)))
    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == (
        "Opportunities: 2 rows — 1 new, 0 updated, 0 unchanged, 1 with errors"
    )
    assert result.stdout.splitlines()[-1] == "Imported 1 rows (1 rows with errors left out)."
    assert count(data_dir, "opportunities_opportunity") == 1


def test_without_an_admin_or_as_the_import_says_who_to_name(data_dir, tmp_path):
    # given: the only admin made a rep
    with sqlite3.connect(data_dir / "kam.sqlite3") as db:
        db.execute("UPDATE users_user SET role = 'rep' WHERE username = 'boss'")
    path = good_accounts(tmp_path)
    # when
    nobody = run(data_dir, "import", str(path))
    stranger = run(data_dir, "import", "--as", "zhang", str(path))
    as_boss = run(data_dir, "import", "--as", "boss", str(path))
    # then
    assert (nobody.returncode, nobody.stderr.strip()) == (
        2,
        "kam: Say who imports with --as USER (the records' history names them); there is no "
        "admin yet: create one with 'kam user add NAME --role admin'.",
    )
    assert (stranger.returncode, stranger.stderr.strip()) == (
        2,
        "kam: No active user named 'zhang'; see 'kam user add --help'.",
    )
    assert as_boss.returncode == 0, as_boss.stderr
    assert "Importing accounts.csv as boss…" in as_boss.stdout


def test_a_refused_file_is_one_line_on_stderr(data_dir, tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    result = run(data_dir, "import", str(path))
    assert (result.returncode, result.stderr.strip()) == (
        2,
        "kam: “photo.xlsx” is not an Excel workbook although its name ends in .xlsx (an old "
        ".xls, or another file renamed?). Open it in Excel and save it as Excel Workbook "
        "(.xlsx). (file)",
    )


# --- kill -9 ---------------------------------------------------------------------------------

ACCOUNTS, DEALS = 50, 800


def big_workbook(path: Path) -> Path:
    """50 accounts and 800 deals with their stage history, in one workbook."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    accounts = book.create_sheet("Accounts")
    accounts.append(["Code", "Name"])
    for i in range(ACCOUNTS):
        accounts.append([f"A{i}", f"客户{i}"])
    deals = book.create_sheet("Opportunities")
    deals.append(
        ["Code", "Account", "Name", "Amount", "Expected close", "Stage", "Stage entry dates"]
    )
    for i in range(DEALS):
        deals.append(
            [f"D{i}", f"A{i % ACCOUNTS}", f"机会{i}", 1000 + i, "2027-06-30", "entry",
             "2026-01-05; 2026-02-10"]
        )  # fmt: skip
    book.save(path)
    return path


def test_a_kill_9_during_a_large_import_leaves_the_database_as_before(data_dir, tmp_path):
    # given
    path = big_workbook(tmp_path / "big.xlsx")
    before = database(data_dir)
    # when: killed once it has written 500 deals (in its transaction)
    started = time.monotonic()
    process = subprocess.Popen(
        [*KAM, "import", str(path)],
        env=env_for(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    while True:
        line = process.stdout.readline()
        seen.append(line)
        if not line or "Opportunities: 500 rows…" in line:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    killed_after = time.monotonic() - started
    # then
    assert "  Opportunities: 500 rows…\n" in seen, seen
    assert process.returncode == -signal.SIGKILL
    with sqlite3.connect(data_dir / "kam.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert database(data_dir) == before
    # and the same file then imports in full
    again = run(data_dir, "import", str(path))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == f"Imported {ACCOUNTS + DEALS} rows."
    assert count(data_dir, "accounts_account") == ACCOUNTS
    assert count(data_dir, "opportunities_opportunity") == DEALS
    assert killed_after < 60
