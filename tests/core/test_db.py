"""refresh_statistics: after a bulk load the planner has statistics for the tables."""

from __future__ import annotations

import pytest
from django.db import connection

from kam.core.db import refresh_statistics


@pytest.mark.django_db
def test_refresh_statistics_gives_the_planner_statistics(book):
    refresh_statistics()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
        else:
            cursor.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
                " OR last_autoanalyze IS NOT NULL"
            )
        analysed = {row[0] for row in cursor.fetchall()}
    assert "opportunities_opportunity" in analysed
