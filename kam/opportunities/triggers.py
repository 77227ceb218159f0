"""Database triggers that count each deal's fact changes (`FactsRevision.rev`).

A stored assessment (kam/opportunities/stored.py) holds while the deal's revision is
the one it was computed at. The revision is raised by the database itself, in the
transaction of the change, on every table `kam.opportunities.facts` reads: whatever
writes there (a service, the import's bulk INSERTs, an admin's SQL) cannot forget it.
The SQL is made here for SQLite and PostgreSQL; migration 0006 installs it.

A table that `facts.deal_facts_many` starts reading must get its triggers here (and a
migration that installs them); tests/opportunities/test_stored.py changes every
table of this list and checks the revision moved."""

# ruff: noqa: S608  (SQL from this module's fixed table and column names, no input)
from __future__ import annotations

from dataclasses import dataclass

REVISIONS = "opportunities_factsrevision"
STORED = "opportunities_storedassessment"
ALL = ("INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Source:
    table: str
    operations: tuple[str, ...]
    # the deals a changed row bears on: a SELECT of one column `id`, `{row}` standing for
    # NEW or OLD
    deals: str
    # UPDATE: only when one of these columns really changed (None: any update)
    columns: tuple[str, ...] | None = None


def _direct(table: str) -> Source:
    return Source(table, ALL, "SELECT {row}.opportunity_id AS id")


# The deal's own columns the rules read (kam/opportunities/stored.py reads these).
OPPORTUNITY_FACTS = (
    "playbook",
    "stage",
    "buyer_stage",
    "status",
    "priority",
    "stage_entered_at",
    "expected_close",
)

SOURCES = (
    Source("opportunities_opportunity", ("UPDATE",), "SELECT {row}.id AS id", OPPORTUNITY_FACTS),
    _direct("opportunities_evaluation"),
    _direct("stakeholders_stakeholder"),
    _direct("opportunities_purchasecriterion"),
    _direct("opportunities_milestone"),
    _direct("opportunities_forcedmove"),
    _direct("intel_intelitem"),
    _direct("competition_competitionscore"),
    Source(
        "intel_intelsource",
        ALL,
        "SELECT opportunity_id AS id FROM intel_intelitem WHERE id = {row}.item_id",
    ),
    Source(
        "contacts_contact",
        ("UPDATE",),
        "SELECT opportunity_id AS id FROM stakeholders_stakeholder WHERE contact_id = {row}.id",
        ("name", "status", "joined_at", "left_at"),
    ),
    Source(
        "competition_competitor",
        ("UPDATE",),
        "SELECT opportunity_id AS id FROM competition_competitionscore "
        "WHERE competitor_id = {row}.id",
        ("name",),
    ),
)


def _name(table: str, operation: str) -> str:
    return f"kam_facts_{table}_{operation.lower()}"


def _rows(operation: str) -> tuple[str, ...]:
    return {"INSERT": ("NEW",), "DELETE": ("OLD",), "UPDATE": ("NEW", "OLD")}[operation]


def _bump(source: Source, operation: str) -> str:
    """The statement raising the revision of every deal the changed row bears on."""
    deals = " UNION ".join(source.deals.format(row=row) for row in _rows(operation))
    return (
        f"INSERT INTO {REVISIONS} (opportunity_id, rev) "
        f"SELECT DISTINCT d.id, 1 FROM ({deals}) AS d WHERE d.id IS NOT NULL "
        f"ON CONFLICT (opportunity_id) DO UPDATE SET rev = {REVISIONS}.rev + 1"
    )


def _changed(columns: tuple[str, ...], differ: str) -> str:
    return " OR ".join(f"OLD.{c} {differ} NEW.{c}" for c in columns)


_FORGET = (
    f"DELETE FROM {REVISIONS} WHERE opportunity_id = OLD.id",
    f"DELETE FROM {STORED} WHERE opportunity_id = OLD.id",
)


def create_sql(vendor: str) -> list[str]:
    """The statements creating every trigger on this database (`sqlite`/`postgresql`)."""
    out: list[str] = []
    for source in SOURCES:
        for operation in source.operations:
            columns = source.columns if operation == "UPDATE" else None
            out += _trigger(
                vendor,
                _name(source.table, operation),
                source.table,
                operation,
                [_bump(source, operation)],
                columns,
            )
    # A deleted deal's revision and stored assessment go with it (no foreign key: the
    # deal's children are deleted first and their triggers raise its revision).
    out += _trigger(
        vendor,
        _name("opportunities_opportunity", "DELETE"),
        "opportunities_opportunity",
        "DELETE",
        list(_FORGET),
        None,
    )
    return out


def drop_sql(vendor: str) -> list[str]:
    out = []
    names = [(s.table, op) for s in SOURCES for op in s.operations]
    names.append(("opportunities_opportunity", "DELETE"))
    for table, operation in names:
        name = _name(table, operation)
        if vendor == "postgresql":
            out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            out.append(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            out.append(f"DROP TRIGGER IF EXISTS {name}")
    return out


def _trigger(
    vendor: str,
    name: str,
    table: str,
    operation: str,
    statements: list[str],
    columns: tuple[str, ...] | None,
) -> list[str]:
    event = f"{operation} OF {', '.join(columns)}" if columns else operation
    if vendor == "postgresql":
        when = f" WHEN ({_changed(columns, 'IS DISTINCT FROM')})" if columns else ""
        body = "".join(f"{s}; " for s in statements)
        return [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body}RETURN NULL; END $$",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{when} "
            f"EXECUTE FUNCTION {name}()",
        ]
    if vendor == "sqlite":
        when = f" WHEN {_changed(columns, 'IS NOT')}" if columns else ""
        body = "".join(f"{s}; " for s in statements)
        return [
            f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{when} BEGIN {body}END"
        ]
    raise NotImplementedError(f"KAM runs on SQLite or PostgreSQL, not {vendor}")


def install(apps, schema_editor) -> None:
    """A migration's RunPython: create every trigger on this database."""
    for statement in create_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)


def uninstall(apps, schema_editor) -> None:
    """A migration's RunPython: drop every trigger."""
    for statement in drop_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)
