"""`kam export FILE.json` / `kam restore FILE.json`: every record of the instance in one
JSON file that loads into an empty instance on either engine (SQLite or PostgreSQL).

The file is valid JSON written one record a line, so neither writing nor loading
holds the data set in memory (issue 10 dumps a million deals):

    {"format": "kam-dump", "version": 1, "kam_version": …, "created_at": …, "engine": …,
     "migrations": {"accounts": ["0001_initial", …], …},
    "objects": [
    {"model": "users.team", "pk": 1, "fields": {…}},
    …
    ],
    "files": [
    {"path": "disclosures/referral-3.pdf", "size": …, "sha256": …, "data": "<base64>"},
    …
    ],
    "end": {"counts": {"users.team": 2, …}, "missing_documents": []}}

It is a full copy: users with their password hashes and API tokens' hashes, every
event, and the uploaded documents the records point to. Sessions (and KAM's records of
them and of failed sign-ins, the kept assessments and facts revisions: models marked
`kam_transient`), Django's content types and permissions are left out (migrate makes
them again; a user's permissions travel by name). A file reformatted by another tool
still loads (read whole).

Loading refuses an instance that holds data, a file that is not a KAM dump, a dump
format or database schema other than this KAM's, and loads everything in one
transaction: on any error nothing is written."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import hashlib
import json
import os
import re
import secrets
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.management.color import no_style
from django.core.serializers.base import DeserializationError
from django.core.serializers.python import Deserializer as PythonDeserializer
from django.core.serializers.python import Serializer as PythonSerializer
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from kam.core import clock
from kam.core.db import one_moment, refresh_statistics
from kam.core.errors import Conflict, ValidationFailed

FORMAT = "kam-dump"
VERSION = 1
CHUNK = 2000
END_KEY = '"end": '


def kam_version() -> str:
    try:
        return metadata.version("kam")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "unknown"


# --- what a dump holds -------------------------------------------------------------


def dumped_models() -> list[type[models.Model]]:
    """Every KAM model and auth's groups, in dependency order (models named by natural
    key first). Foreign keys are checked at commit, so the order is not load-bearing."""
    from django.contrib.auth.models import Group

    app_list: list[tuple[Any, list[type[models.Model]]]] = [(apps.get_app_config("auth"), [Group])]
    for config in apps.get_app_configs():
        if config.name.startswith("kam."):
            found = [
                m
                for m in config.get_models()
                if m._meta.managed and not m._meta.proxy and not getattr(m, "kam_transient", False)
            ]
            if found:
                app_list.append((config, found))
    return serializers.sort_dependencies(app_list, allow_cycles=True)


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def instance_counts(*, only_nonzero: bool = False) -> dict[str, int]:
    """Records per dumped model; a table not created yet (a fresh database) counts 0."""
    existing = set(connection.introspection.table_names())
    counts = {}
    for model in dumped_models():
        table_there = model._meta.db_table in existing
        n = model._base_manager.count() if table_there else 0
        if n or not only_nonzero:
            counts[_label(model)] = n
    return counts


def instance_is_empty() -> bool:
    existing = set(connection.introspection.table_names())
    return not any(
        model._base_manager.exists()
        for model in dumped_models()
        if model._meta.db_table in existing
    )


def describe(counts: dict[str, int], limit: int = 6) -> str:
    """ "12 users, 40 accounts, …" from {label: count}, largest first."""
    named = []
    for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if n:
            model = apps.get_model(label)
            noun = model._meta.verbose_name if n == 1 else model._meta.verbose_name_plural
            named.append(f"{n} {noun}")
    more = len(named) - limit
    return ", ".join(named[:limit]) + (f" and {more} more kinds" if more > 0 else "")


def applied_migrations(labels: set[str] | None = None) -> dict[str, list[str]]:
    """{app: [migration, …]} applied to this database, for the dumped apps."""
    labels = labels or {m._meta.app_label for m in dumped_models()}
    out: dict[str, list[str]] = {}
    if MigrationRecorder(connection).has_table():
        for app, name in MigrationRecorder(connection).applied_migrations():
            if app in labels:
                out.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(out.items())}


def known_migrations() -> set[tuple[str, str]]:
    """The migrations this KAM's code holds (applied or not)."""
    return set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)


def schema_problem(theirs: dict[str, list[str]], *, written_by: str, what: str) -> str | None:
    """Why a file written at schema `theirs` does not fit this database, or None."""
    ours = applied_migrations(set(theirs) | {m._meta.app_label for m in dumped_models()})
    if theirs == ours:
        return None
    known = known_migrations()
    unknown = sorted(
        f"{app}.{n}" for app, names in theirs.items() for n in names if (app, n) not in known
    )
    if unknown:
        return (
            f"This {what} comes from a newer KAM ({written_by}): its database has changes "
            f"this KAM ({kam_version()}) does not know ({', '.join(unknown[:3])}). "
            f"Upgrade KAM to {written_by} or later, then restore."
        )
    differ = []
    for app in sorted(set(theirs) | set(ours)):
        a, b = theirs.get(app, []), ours.get(app, [])
        if a != b:
            differ.append(f"{app}: file {a[-1] if a else 'none'}, here {b[-1] if b else 'none'}")
    return (
        f"This {what} was written by KAM {written_by} at another database schema than this "
        f"KAM ({kam_version()}) has ({'; '.join(differ[:3])}). Load it with KAM "
        f"{written_by} into an empty instance, then upgrade that instance (kam serve "
        "migrates it) and export again."
    )


# --- writing -----------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    # Full precision: Django's own JSON encoder cuts datetimes to milliseconds.
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to a dump")


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default, separators=(",", ":"))


class _LineSerializer(PythonSerializer):
    """Django's python serializer, handing each object on as soon as it is built
    instead of keeping a list of them."""

    def __init__(self, emit: Callable[[str], None]):
        super().__init__()
        self.emit = emit
        self.count = 0

    def start_serialization(self):
        self._current = None

    def end_object(self, obj):
        self.emit(_line(self.get_dump_object(obj)))
        self._current = None
        self.count += 1

    def handle_m2m_field(self, obj, field):
        # Permissions are made again by migrate, with other ids: name them instead.
        from django.contrib.auth.models import Permission

        self.use_natural_foreign_keys = field.remote_field.model is Permission
        try:
            super().handle_m2m_field(obj, field)
        finally:
            self.use_natural_foreign_keys = False

    def getvalue(self):
        return None


def _stored_fields(model: type[models.Model]) -> list[models.Field]:
    """The fields Django's serializer writes for `model` (its pk aside), in its order."""
    return [f for f in model._meta.concrete_model._meta.local_fields if f.serialize]


def _write_model(model: type[models.Model], emit: Callable[[str], None]) -> int:
    """Write every row of `model`, one line each, as Django's python serializer would
    (tests hold the two equal) — but from plain rows: building a model instance per row
    would cost several times the time, and issue 10 dumps millions of them."""
    if model._meta.local_many_to_many:  # users and groups: few rows, links by query
        serializer = _LineSerializer(emit)
        serializer.serialize(model._base_manager.order_by("pk").iterator(CHUNK))
        return serializer.count
    label = _label(model)
    fields = _stored_fields(model)
    names = [f.name for f in fields]
    rows = model._base_manager.order_by("pk").values_list("pk", *(f.attname for f in fields))
    count = 0
    for pk, *values in rows.iterator(CHUNK):
        emit(_line({"model": label, "pk": pk, "fields": dict(zip(names, values, strict=True))}))
        count += 1
    return count


def _file_fields(model: type[models.Model]) -> list[models.FileField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]


def _upload_dir() -> Path:
    return Path(settings.KAM_UPLOAD_DIR)


def _human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


def write_dump(path: str | os.PathLike) -> str:
    """Write the whole instance to `path` (created readable by its owner only) and say
    what it holds. The file appears only when complete."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ValidationFailed(
            f"There is no folder {str(path.parent)!r} to write into.", field="file"
        )
    models_ = dumped_models()
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    counts: dict[str, int] = {}
    missing: list[str] = []
    documents = 0
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh, one_moment():
            header = {
                "format": FORMAT,
                "version": VERSION,
                "kam_version": kam_version(),
                "created_at": clock.now().isoformat(),
                "engine": connection.vendor,
                "migrations": applied_migrations(),
            }
            fh.write(json.dumps(header, ensure_ascii=False)[:-1] + ",\n")
            first = True

            def emit(text: str) -> None:
                nonlocal first
                fh.write(text if first else ",\n" + text)
                first = False

            fh.write('"objects": [\n')
            names: list[str] = []
            for model in models_:
                counts[_label(model)] = _write_model(model, emit)
                for f in _file_fields(model):
                    names += (
                        model._base_manager.exclude(**{f.name: ""})
                        .exclude(**{f"{f.name}__isnull": True})
                        .order_by(f.name)
                        .values_list(f.name, flat=True)
                    )
            fh.write('\n],\n"files": [\n')
            first = True
            root = _upload_dir()
            for name in sorted(set(names)):
                source = root / name
                if not source.is_file():
                    missing.append(name)
                    continue
                data = source.read_bytes()
                emit(
                    _line(
                        {
                            "path": name,
                            "size": len(data),
                            "sha256": hashlib.sha256(data).hexdigest(),
                            "data": base64.b64encode(data).decode("ascii"),
                        }
                    )
                )
                documents += 1
            fh.write("\n],\n")
            end = {"counts": counts, "missing_documents": missing}
            fh.write(END_KEY + json.dumps(end) + "}\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise ValidationFailed(
            f"Could not write {str(path)!r}: {exc.strerror or exc}.", field="file"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    total = sum(counts.values())
    lost = (
        f" {len(missing)} document(s) the records point to were missing from "
        f"{root}: {', '.join(missing[:3])}."
        if missing
        else ""
    )
    return (
        f"Wrote {path} ({_human_size(path.stat().st_size)}): {total} records "
        f"({describe(counts)}) and {documents} document(s).{lost} It holds password "
        "hashes: keep it private. Load it into an empty instance with "
        f"'kam restore {path.name}'."
    )


# --- reading -----------------------------------------------------------------------


class _Broken(Exception):
    def __init__(self, line: int | None, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


@dataclass
class _Dump:
    """An open dump: its header, then its items — ("object" | "file", line, dict) —
    and finally ("end", line, dict). `line` tracks the item being read."""

    header: dict
    items: Iterator[tuple[str, int | None, Any]]
    line: int | None = None
    _close: Callable[[], None] = field(default=lambda: None)

    def close(self) -> None:
        self._close()


def _stream_items(fh, start: int) -> Iterator[tuple[str, int | None, Any]]:
    section = None
    for n, raw in enumerate(fh, start=start):
        line = raw.rstrip("\n")
        if section is not None:
            if line in ("]", "],"):
                section = None
            elif line.strip():
                try:
                    value = json.loads(line.removesuffix(","))
                except json.JSONDecodeError as exc:
                    raise _Broken(n, f"not JSON ({exc.msg} at column {exc.colno})") from None
                yield section, n, value
        elif line == '"objects": [':
            section = "object"
        elif line == '"files": [':
            section = "file"
        elif line.startswith(END_KEY) and line.endswith("}"):
            try:
                yield "end", n, json.loads(line[len(END_KEY) : -1])
            except json.JSONDecodeError as exc:
                raise _Broken(n, f"not JSON ({exc.msg})") from None
            return
        elif line.strip():
            raise _Broken(n, "not part of a KAM dump (was the file edited?)")


def _whole_items(data: dict) -> Iterator[tuple[str, int | None, Any]]:
    for item in data.get("objects") or []:
        yield "object", None, item
    for item in data.get("files") or []:
        yield "file", None, item
    if "end" in data:
        yield "end", None, data["end"]


def _not_a_dump(path: Path, why: str) -> ValidationFailed:
    return ValidationFailed(
        f"{path.name} is not a KAM dump ({why}). 'kam restore' loads a .json file written "
        "by 'kam export FILE.json', or a backup written by 'kam backup'.",
        field="file",
    )


def _open_dump(path: Path) -> _Dump:
    if not path.is_file():
        raise ValidationFailed(f"There is no file {str(path)!r}.", field="file")
    fh = open(path, encoding="utf-8", newline="\n")  # noqa: SIM115 - closed by _Dump.close
    try:
        first = fh.readline()
        if first.startswith('{"format": ') and first.endswith(",\n"):
            try:
                header = json.loads(first[:-2] + "}")
            except json.JSONDecodeError:
                header = None
            if isinstance(header, dict):
                return _Dump(header, _stream_items(fh, start=2), _close=fh.close)
        # Not our line layout (reformatted by another tool?): read it whole.
        fh.seek(0)
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise _not_a_dump(
                path, f"broken JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        fh.close()
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise _not_a_dump(path, f'no "format": "{FORMAT}" at its top')
        header = {k: v for k, v in data.items() if k not in ("objects", "files", "end")}
        return _Dump(header, _whole_items(data))
    except UnicodeDecodeError:
        fh.close()
        raise _not_a_dump(path, "not UTF-8 text") from None
    except BaseException:
        fh.close()
        raise


def _check_header(path: Path, header: dict) -> None:
    if header.get("format") != FORMAT:
        raise _not_a_dump(path, f'no "format": "{FORMAT}" at its top')
    written_by = str(header.get("kam_version") or "unknown")
    if header.get("version") != VERSION:
        raise ValidationFailed(
            f"{path.name} is a KAM dump of format version {header.get('version')!r}, written "
            f"by KAM {written_by}; this KAM ({kam_version()}) reads version {VERSION}. Load "
            f"it with KAM {written_by}.",
            field="file",
        )
    theirs = header.get("migrations")
    if not isinstance(theirs, dict) or not all(
        isinstance(v, list) and all(isinstance(n, str) for n in v) for v in theirs.values()
    ):
        raise _not_a_dump(path, 'its "migrations" are missing or malformed')
    problem = schema_problem(theirs, written_by=written_by, what="dump")
    if problem:
        raise ValidationFailed(problem, field="file")


def _safe_relative(name: Any) -> PurePosixPath | None:
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return None
    rel = PurePosixPath(name)
    if rel.is_absolute() or any(part in ("", ".", "..") for part in name.split("/")):
        return None
    return rel


@dataclass
class _Loaded:
    counts: Counter = field(default_factory=Counter)
    documents: list[str] = field(default_factory=list)
    end: dict | None = None


def _load(dump: _Dump, staging: Path) -> _Loaded:
    """Write every item of `dump`; the caller holds the transaction."""
    allowed = {_label(m): m for m in dumped_models()}
    result = _Loaded()
    referenced: set[str] = set()
    writer = _RowWriter()

    def objects() -> Iterator[dict]:
        for kind, line, item in dump.items:
            dump.line = line
            if kind != "object":
                pending.append((kind, line, item))
                return
            if not isinstance(item, dict) or not isinstance(item.get("model"), str):
                raise _Broken(line, "a record without a model")
            if item["model"] not in allowed:
                raise _Broken(line, f"{item['model']!r} is not something a KAM dump holds")
            yield item

    pending: list[tuple[str, int | None, Any]] = []
    for item in objects():
        model = allowed[item["model"]]
        result.counts[_label(model)] += 1
        if model._meta.local_many_to_many:  # users and groups: Django's own way, with links
            writer.flush()
            deserialized = next(iter(PythonDeserializer([item], handle_forward_references=False)))
            deserialized.save()
            obj = deserialized.object
            referenced.update(
                getattr(obj, f.attname).name
                for f in _file_fields(model)
                if getattr(obj, f.attname).name
            )
            continue
        writer.add(model, item, referenced, dump.line)
    writer.flush()

    def rest() -> Iterator[tuple[str, int | None, Any]]:
        yield from pending
        yield from dump.items

    for kind, line, item in rest():
        dump.line = line
        if kind == "end":
            result.end = item
            break
        if kind != "file":
            raise _Broken(line, "a record after the documents")
        if not isinstance(item, dict):
            raise _Broken(line, "a document entry that is not an object")
        rel = _safe_relative(item.get("path"))
        if rel is None:
            raise _Broken(line, f"a document path that is not allowed: {item.get('path')!r}")
        if str(rel) not in referenced:
            raise _Broken(line, f"the document {str(rel)!r} belongs to no record")
        try:
            data = base64.b64decode(item.get("data") or "", validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise _Broken(line, f"the document {str(rel)!r} is not valid base64") from None
        if len(data) != item.get("size") or hashlib.sha256(data).hexdigest() != item.get("sha256"):
            raise _Broken(line, f"the document {str(rel)!r} is damaged (size or checksum)")
        target = staging.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        result.documents.append(str(rel))
    if result.end is None:
        raise _Broken(None, "it ends before its last line: the file was cut short")
    expected = result.end.get("counts") if isinstance(result.end, dict) else None
    if not isinstance(expected, dict):
        raise _Broken(dump.line, 'its "end" holds no counts')
    found = {label: result.counts.get(label, 0) for label in expected}
    if found != expected or set(result.counts) - set(expected):
        wrong = [
            f"{label}: {result.counts.get(label, 0)} of {expected.get(label, 0)}"
            for label in sorted(set(expected) | set(result.counts))
            if result.counts.get(label, 0) != expected.get(label, 0)
        ]
        raise _Broken(None, f"records are missing or added ({'; '.join(wrong[:3])})")
    dump.line = None  # what fails now is the records together, not one line
    connection.check_constraints()
    _reset_sequences(list(allowed.values()))
    return result


class _RowWriter:
    """Inserts records in batches of plain rows (`executemany`), each value checked and
    converted by its field as Django's deserializer does (`to_python`) and prepared for
    the database as the ORM does (`get_db_prep_save`), without building model instances
    or going through bulk_create's per-value SQL compiling: several times faster."""

    def __init__(self):
        self.db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the proxy
        self.model: type[models.Model] | None = None
        self.rows: list[list[Any]] = []
        self.plans: dict[type[models.Model], tuple[str, list[models.Field], dict]] = {}

    def _plan(self, model: type[models.Model]):
        if model not in self.plans:
            fields = _stored_fields(model)
            qn = connection.ops.quote_name
            columns = [model._meta.pk, *fields]
            # Names come from the models, quoted by the backend; values are parameters.
            sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
                qn(model._meta.db_table),
                ", ".join(qn(f.column) for f in columns),
                ", ".join(["%s"] * len(columns)),
            )
            self.plans[model] = (sql, fields, {f.name: f for f in fields})
        return self.plans[model]

    def add(self, model: type[models.Model], item: dict, referenced: set[str], line) -> None:
        sql, fields, by_name = self._plan(model)
        data = item.get("fields")
        if not isinstance(data, dict) or item.get("pk") is None:
            raise _Broken(line, f"a {_label(model)} record without its pk and fields")
        unknown = set(data) - set(by_name)
        if unknown:
            raise _Broken(line, f"{_label(model)} has no field {sorted(unknown)[0]!r}")
        pk_field = model._meta.pk
        try:
            pk = pk_field.to_python(item["pk"])
        except DjangoValidationError:
            raise _Broken(line, f"a {_label(model)} record with the pk {item['pk']!r}") from None
        row = [pk_field.get_db_prep_save(pk, self.db)]
        for f in fields:
            if f.name in data:
                raw = data[f.name]
                try:
                    if f.remote_field is not None:
                        value = f.target_field.to_python(raw)
                    else:
                        value = f.to_python(raw)
                except DjangoValidationError as exc:
                    raise _Broken(
                        line,
                        f"{'; '.join(exc.messages).rstrip('.')} "
                        f"({_label(model)}:pk={item.get('pk')}, {f.name})",
                    ) from None
            else:
                value = f.get_default()
            if value is None and not f.null:
                raise _Broken(line, f"{_label(model)}:pk={item['pk']} has no {f.name}")
            if isinstance(f, models.FileField) and value:
                referenced.add(str(value))
            row.append(f.get_db_prep_save(value, self.db))
        if model is not self.model:
            self.flush()
            self.model = model
        self.rows.append(row)
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.rows and self.model is not None:
            try:
                self._insert(self.model, self.rows)
            except DatabaseError as exc:
                # found when a batch is written, so name the kind of record, not a line
                raise _Broken(None, f"the {_label(self.model)} records: {_reason(exc)}") from None
        self.rows = []

    def _insert(self, model: type[models.Model], rows: list[list[Any]]) -> None:
        with self.db.cursor() as cursor:
            if self.db.vendor == "postgresql":
                # COPY: psycopg adapts the values in C, several times faster again
                qn = self.db.ops.quote_name
                columns = [model._meta.pk, *_stored_fields(model)]
                copy_sql = "COPY {} ({}) FROM STDIN".format(
                    qn(model._meta.db_table), ", ".join(qn(f.column) for f in columns)
                )
                with self.db.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(self.plans[model][0], rows)


def _reset_sequences(models_: list[type[models.Model]]) -> None:
    """PostgreSQL hands out ids from sequences that inserting with explicit ids does not
    move (SQLite's AUTOINCREMENT does): set them past the loaded ids."""
    throughs = [
        f.remote_field.through
        for m in models_
        for f in m._meta.local_many_to_many
        if f.remote_field.through._meta.auto_created
    ]
    statements = connection.ops.sequence_reset_sql(no_style(), models_ + throughs)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _forget_derived() -> None:
    """Kept assessments and facts revisions left by an emptied instance would name the
    ids the dump's deals are about to take: they go first (they are made again)."""
    from kam.opportunities.models import FactsRevision, StoredAssessment

    StoredAssessment.objects.all().delete()
    FactsRevision.objects.all().delete()


def load_dump(path: str | os.PathLike) -> str:
    """Load a dump written by `write_dump` into this empty instance: everything or
    nothing, the uploaded documents included."""
    path = Path(path)
    dump = _open_dump(path)
    try:
        _check_header(path, dump.header)
        if not instance_is_empty():
            raise Conflict(
                f"This instance already holds data ({describe(instance_counts())}); a dump "
                "loads only into an empty one. Use a new data folder (KAM_DATA_DIR) or an "
                "empty PostgreSQL database (KAM_DATABASE_URL), then 'kam restore' again.",
                field="file",
            )
        root = _upload_dir()
        staging = root / f".restoring-{secrets.token_hex(6)}"
        try:
            try:
                with transaction.atomic():
                    _forget_derived()
                    loaded = _load(dump, staging)
                    refresh_statistics()
            except _Broken as exc:
                raise _refused(path, exc.line, exc.reason) from None
            except (
                DeserializationError,
                DjangoValidationError,
                DatabaseError,
                ValueError,
                TypeError,
                KeyError,
                LookupError,
            ) as exc:
                raise _refused(path, dump.line, _reason(exc)) from None
            for name in loaded.documents:
                target = root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / name, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        dump.close()
    written = dump.header.get("created_at", "?")
    return (
        f"Loaded {path.name} (written {written} by KAM {dump.header.get('kam_version')}): "
        f"{sum(loaded.counts.values())} records ({describe(dict(loaded.counts))}) and "
        f"{len(loaded.documents)} document(s). Users sign in with their old passwords."
    )


def _reason(exc: Exception) -> str:
    where = ""
    original = exc.__cause__ or exc.__context__
    if isinstance(exc, DeserializationError) and isinstance(original, Exception):
        # Django's "<error>: (app.model:pk=1) field_value was '…'": keep the record's name
        found = re.search(r"\((\S+:pk=[^)]*)\) field_value", str(exc))
        where = f" ({found.group(1)})" if found else ""
        exc = original
    if isinstance(exc, DjangoValidationError):
        text = "; ".join(exc.messages)
    else:
        lines = str(exc).strip().splitlines()
        text = lines[0] if lines else type(exc).__name__
    return text.rstrip(".") + where


def _refused(path: Path, line: int | None, reason: str) -> ValidationFailed:
    where = f"{path.name}, line {line}" if line else path.name
    return ValidationFailed(f"{where}: {reason}. Nothing was loaded.", field="file")
