"""`kam backup` / `kam restore BACKUP`: a copy of the database itself, taken while
`kam serve` runs, and putting it back.

A backup is one .tar file (readable by its owner only) holding

    manifest.json   {"format": "kam-backup", "version": 1, "engine": "sqlite" | "postgresql",
                     "kam_version", "created_at", "migrations", "database", "documents"}
    kam.sqlite3     SQLite: a copy made with SQLite's online backup API — a consistent
                    snapshot taken without stopping the writers (WAL)
    kam.pgdump      PostgreSQL: `pg_dump --format=custom` (one consistent snapshot too)
    uploads/…       the uploaded documents (the data folder's uploads/)

The database is copied first and the documents after it: a document a copied record
points to is always there (the services store a file before the record naming it).

A backup restores only into the same engine; `kam export FILE.json` and
`kam restore FILE.json` move data between SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import connection
from django.utils import timezone

from kam.core import clock
from kam.core.errors import Conflict, ValidationFailed
from kam.transfer.dump import (
    applied_migrations,
    describe,
    instance_counts,
    instance_is_empty,
    kam_version,
    known_migrations,
)

FORMAT = "kam-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE_FILE = {"sqlite": "kam.sqlite3", "postgresql": "kam.pgdump"}
ENGINE_NAME = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
UPLOADS = "uploads"


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in DATABASE_FILE:  # pragma: no cover - settings allow only these two
        raise ValidationFailed(f"KAM backs up SQLite or PostgreSQL, not {vendor}.")
    return vendor


def _upload_dir() -> Path:
    return Path(settings.KAM_UPLOAD_DIR)


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


# --- PostgreSQL tools --------------------------------------------------------------


def _pg_command(tool: str) -> tuple[list[str], dict[str, str]]:
    """`tool` with this instance's connection (host, port, user, database) and the
    password in the environment, never on the command line."""
    binary = shutil.which(tool)
    if binary is None:
        raise ValidationFailed(
            f"{tool} is not installed, and backing up PostgreSQL needs it: install the "
            "PostgreSQL client of the server's version (Debian: apt install "
            "postgresql-client-15), then try again.",
            field="file",
        )
    s = connection.settings_dict
    env = {**os.environ}
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = str(s["PASSWORD"])
    sslmode = (s.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    args = [binary]
    if s.get("HOST"):
        args += ["--host", str(s["HOST"])]
    if s.get("PORT"):
        args += ["--port", str(s["PORT"])]
    if s.get("USER"):
        args += ["--username", str(s["USER"])]
    return args + ["--no-password"], env


def _run(args: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        shown = " | ".join(detail[-5:]) or f"exit status {done.returncode}"
        raise ValidationFailed(f"{what} failed: {shown}", field="file")
    return done


# --- backup ------------------------------------------------------------------------


def _default_path() -> Path:
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M%S")
    folder = Path(settings.DATA_DIR) / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    path, n = folder / f"kam-{stamp}.tar", 1
    while path.exists():
        n += 1
        path = folder / f"kam-{stamp}-{n}.tar"
    return path


def _copy_sqlite(target: Path) -> dict[str, list[str]]:
    """SQLite's online backup of the live database into `target`, in one step: a
    consistent snapshot; in WAL mode the server's writers go on meanwhile."""
    connection.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        connection.connection.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        rows = copy.execute("SELECT app, name FROM django_migrations").fetchall()
    except sqlite3.Error as exc:
        raise ValidationFailed(f"SQLite could not copy the database: {exc}.") from None
    finally:
        copy.close()
    return _by_app(rows)


def _by_app(rows) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for app, name in rows:
        out.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(out.items())}


def _dump_postgres(target: Path) -> dict[str, list[str]]:
    migrations = _by_app(
        (app, name) for app, names in applied_migrations(_all_apps()).items() for name in names
    )
    args, env = _pg_command("pg_dump")
    _run(
        [
            *args,
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={target}",
            str(connection.settings_dict["NAME"]),
        ],
        env,
        "pg_dump",
    )
    return migrations


def _all_apps() -> set[str]:
    from django.apps import apps

    return {c.label for c in apps.get_app_configs()}


# Where the import page keeps uploaded spreadsheets between preview and import
# (kam/web/views/imports.py STAGING).
STAGED_IMPORTS = "imports"


def _upload_files() -> list[tuple[Path, str]]:
    root = _upload_dir()
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0].startswith(".") or path.is_symlink() or not path.is_file():
            continue  # half-restored staging folders, links
        if rel.parts[0] == STAGED_IMPORTS:
            continue  # spreadsheets waiting for their import: not data (yet)
        out.append((path, rel.as_posix()))
    return out


def backup(path: str | os.PathLike | None = None) -> str:
    """Back up the database and the uploaded documents into one .tar (default
    <data>/backups/kam-YYYYmmdd-HHMMSS.tar) and say what was written."""
    engine = _engine()
    target = Path(path) if path else _default_path()
    if target.exists():
        raise ValidationFailed(
            f"{target} exists already; name a new file (a backup never overwrites another).",
            field="file",
        )
    if not target.parent.is_dir():
        raise ValidationFailed(
            f"There is no folder {str(target.parent)!r} to write into.", field="file"
        )
    counts = instance_counts(only_nonzero=True)
    work = Path(tempfile.mkdtemp(prefix=".kam-backup-", dir=target.parent))
    try:
        database = work / DATABASE_FILE[engine]
        created = clock.now()
        migrations = _copy_sqlite(database) if engine == "sqlite" else _dump_postgres(database)
        documents = _upload_files()
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "engine": engine,
            "kam_version": kam_version(),
            "created_at": created.isoformat(),
            "migrations": migrations,
            "database": DATABASE_FILE[engine],
            "documents": len(documents),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        part = work / "backup.tar"
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w") as tar:
            tar.add(work / MANIFEST, arcname=MANIFEST)
            tar.add(database, arcname=DATABASE_FILE[engine])
            for source, rel in documents:
                tar.add(source, arcname=f"{UPLOADS}/{rel}", recursive=False)
        os.replace(part, target)
    except OSError as exc:
        raise ValidationFailed(
            f"Could not write {target}: {exc.strerror or exc}.", field="file"
        ) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return (
        f"Backed up the {ENGINE_NAME[engine]} database ({describe(counts) or 'no records'}) "
        f"and {len(documents)} document(s) to {target} ({_size(target)}). It holds password "
        f"hashes: keep it private. Restore with 'kam restore {target}'."
    )


# --- restore -----------------------------------------------------------------------


def _not_a_backup(path: Path, why: str) -> ValidationFailed:
    return ValidationFailed(
        f"{path.name} is not a KAM backup ({why}). 'kam restore' takes a .tar written by "
        "'kam backup', or a .json written by 'kam export FILE.json'.",
        field="file",
    )


def _unpack(path: Path, work: Path) -> dict:
    """Check the archive's members and unpack them into `work`; return the manifest."""
    try:
        with tarfile.open(path, mode="r:*") as tar:
            members = tar.getmembers()
            names = {m.name for m in members}
            if MANIFEST not in names:
                raise _not_a_backup(path, f"no {MANIFEST} in it")
            for m in members:
                parts = PurePosixPath(m.name).parts
                top_level_file = m.name in (MANIFEST, *DATABASE_FILE.values())
                upload = (
                    bool(parts)
                    and parts[0] == UPLOADS
                    and ".." not in parts
                    and (len(parts) > 1 or m.isdir())
                )
                if not (top_level_file and m.isfile()) and not (
                    upload and (m.isfile() or m.isdir())
                ):
                    raise _not_a_backup(path, f"it holds {m.name!r}")
            tar.extractall(work, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise ValidationFailed(f"There is no file {str(path)!r}.", field="file") from None
        if isinstance(exc, tarfile.ReadError):
            raise _not_a_backup(path, "not a .tar archive, or a damaged one") from None
        raise _not_a_backup(path, f"its archive cannot be read: {exc}") from None
    try:
        manifest = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise _not_a_backup(path, f"its {MANIFEST} is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _not_a_backup(path, f'its {MANIFEST} has no "format": "{FORMAT}"')
    return manifest


def _check_manifest(path: Path, manifest: dict, engine: str) -> None:
    written_by = str(manifest.get("kam_version") or "unknown")
    if manifest.get("version") != VERSION:
        raise ValidationFailed(
            f"{path.name} is a KAM backup of format version {manifest.get('version')!r}, "
            f"written by KAM {written_by}; this KAM ({kam_version()}) reads version "
            f"{VERSION}. Restore it with KAM {written_by}.",
            field="file",
        )
    theirs = manifest.get("engine")
    if theirs != engine:
        raise ValidationFailed(
            f"{path.name} is a backup of a {ENGINE_NAME.get(theirs, theirs)} database; this "
            f"instance runs on {ENGINE_NAME[engine]}. A backup restores only into the same "
            "engine: to move between SQLite and PostgreSQL, run 'kam export FILE.json' on "
            "the old instance and 'kam restore FILE.json' on the new one.",
            field="file",
        )
    migrations = manifest.get("migrations")
    if not isinstance(migrations, dict):
        raise _not_a_backup(path, f'its {MANIFEST} lists no "migrations"')
    known = known_migrations()
    unknown = sorted(
        f"{app}.{name}"
        for app, names in migrations.items()
        for name in (names if isinstance(names, list) else [])
        if (app, name) not in known
    )
    if unknown:
        raise ValidationFailed(
            f"{path.name} comes from a newer KAM ({written_by}): its database has changes "
            f"this KAM ({kam_version()}) does not know ({', '.join(unknown[:3])}). Upgrade "
            f"KAM to {written_by} or later, then restore.",
            field="file",
        )


def _check_sqlite(path: Path, copy: Path) -> None:
    try:
        db = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            verdict = db.execute("PRAGMA integrity_check").fetchall()
            db.execute("SELECT count(*) FROM django_migrations").fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise _not_a_backup(path, f"its database copy is damaged: {exc}") from None
    if verdict != [("ok",)]:
        shown = "; ".join(str(row[0]) for row in verdict[:3])
        raise _not_a_backup(path, f"its database copy is damaged: {shown}")


def _check_postgres(path: Path, archive: Path) -> None:
    args, env = _pg_command("pg_restore")
    done = subprocess.run(
        [args[0], "--list", str(archive)], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise _not_a_backup(
            path,
            "its pg_dump archive is damaged: " + " | ".join(done.stderr.strip().splitlines()[-2:]),
        )


def _restore_sqlite(path: Path, copy: Path) -> None:
    """Copy the backup into the live database with SQLite's backup API: one write
    transaction, so readers (a running `kam serve`) see the old data or the new,
    never a mix."""
    connection.ensure_connection()
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        source.backup(connection.connection)
    except sqlite3.Error as exc:
        raise ValidationFailed(
            f"SQLite could not restore {path.name}: {exc}.", field="file"
        ) from None
    finally:
        source.close()


def _restore_postgres(archive: Path) -> None:
    args, env = _pg_command("pg_restore")
    connection.close()  # hold no lock on the tables pg_restore replaces
    _run(
        [
            *args,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={connection.settings_dict['NAME']}",
            str(archive),
        ],
        env,
        "pg_restore",
    )


def _restore_uploads(work: Path) -> int:
    source = work / UPLOADS
    if not source.is_dir():
        return 0
    root = _upload_dir()
    n = 0
    for path in sorted(source.rglob("*")):
        if path.is_file():
            target = root / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            n += 1
    return n


def restore_backup(path: str | os.PathLike, *, replace: bool = False) -> str:
    """Put a backup written by `backup` back: the database (all of it, in one step)
    and the documents. Refuses an instance holding data unless `replace`."""
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed(f"There is no file {str(path)!r}.", field="file")
    engine = _engine()
    data_dir = Path(settings.DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".kam-restore-", dir=data_dir))
    try:
        manifest = _unpack(path, work)
        _check_manifest(path, manifest, engine)
        database = work / DATABASE_FILE[engine]
        if not database.is_file():
            raise _not_a_backup(path, f"no {DATABASE_FILE[engine]} in it")
        if engine == "sqlite":
            _check_sqlite(path, database)
        else:
            _check_postgres(path, database)
        if not replace and not instance_is_empty():
            raise Conflict(
                f"This instance holds data ({describe(instance_counts())}); restoring "
                f"{path.name} would replace all of it. Take a backup of it first ('kam "
                "backup'), then restore with --replace.",
                field="file",
            )
        if engine == "sqlite":
            _restore_sqlite(path, database)
        else:
            _restore_postgres(database)
        documents = _restore_uploads(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    counts = instance_counts(only_nonzero=True)
    return (
        f"Restored {path.name} ({ENGINE_NAME[engine]}, written {manifest.get('created_at')} "
        f"by KAM {manifest.get('kam_version')}): {describe(counts) or 'no records'} and "
        f"{documents} document(s)."
    )
