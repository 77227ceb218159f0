"""Small database chores shared by the bulk loaders (demo, import, restore)."""

from __future__ import annotations

from django.db import connection


def refresh_statistics() -> None:
    """After a bulk load, let PostgreSQL's planner see the new rows now.

    Autovacuum analyzes a table only after the load commits and a while later; until
    then the planner judges the tables by their old size and may pick plans fit for
    empty tables (seconds instead of milliseconds on the dashboard). ANALYZE inside the
    loading transaction sees its rows. SQLite plans without such statistics."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
