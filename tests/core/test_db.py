"""refresh_statistics: after a bulk load the planner has statistics for the tables;
one_moment: reads that see one moment; WholeDays: whole days counted by the database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Value

from kam.core import db as db_module
from kam.core.db import refresh_statistics
from kam.transfer.files import Sheet


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


def _counted(cursor, table: str) -> int:
    cursor.execute("SELECT MAX(CAST(stat AS INTEGER)) FROM sqlite_stat1 WHERE tbl = %s", [table])
    return cursor.fetchone()[0] or 0


@pytest.mark.django_db
def test_a_table_is_analysed_again_once_it_has_doubled(book):
    # SQLite's statistics are full counts (a sample of 1,000 index entries saw one status
    # and misled the planner), taken again only when a table has doubled since.
    # PostgreSQL analyses every table each time (the test above).
    from kam.core import db

    refresh_statistics()
    with connection.cursor() as cursor:
        if connection.vendor != "sqlite":
            cursor.execute(
                "SELECT count(*) FROM pg_stat_user_tables WHERE relname = %s"
                " AND last_analyze IS NOT NULL",
                ["opportunities_opportunity"],
            )
            assert cursor.fetchone()[0] == 1
            return
        deals = _counted(cursor, "opportunities_opportunity")
        assert deals == models_count()
        # a few more rows: the statistics stay
        assert db.SQLITE_GROWN_MIN > 3
        grow(3)
        refresh_statistics()
        assert _counted(cursor, "opportunities_opportunity") == deals
        # doubled, and by more than SQLITE_GROWN_MIN: counted again, in full
        grow(max(deals, db.SQLITE_GROWN_MIN))
        refresh_statistics()
        assert _counted(cursor, "opportunities_opportunity") == models_count()


@pytest.mark.django_db
def test_only_the_tables_that_grew_are_analysed_again(book):
    # A full ANALYZE at 1,000,000 deals takes seconds: when one table has doubled, only
    # that table is counted again; the others keep the statistics they had.
    if connection.vendor != "sqlite":
        return  # PostgreSQL analyses every table each time (the first test)
    from kam.accounts.models import Account

    refresh_statistics()
    with connection.cursor() as cursor:
        accounts = _counted(cursor, "accounts_account")
        assert accounts == Account.objects.count() > 0
        # one more account (far from doubling) and twice the deals
        Account.objects.create(name="One more", owner_id=Account.objects.first().owner_id)
        grow(max(models_count(), 1000))
        refresh_statistics()
        assert _counted(cursor, "opportunities_opportunity") == models_count()
        assert _counted(cursor, "accounts_account") == accounts


def models_count() -> int:
    from kam.opportunities.models import Opportunity

    return Opportunity.objects.count()


def grow(n: int) -> None:
    """n more deals like the first, written in bulk."""
    from kam.opportunities.models import Opportunity

    model = Opportunity.objects.order_by("pk").first()
    Opportunity.objects.bulk_create(
        [
            Opportunity(
                account_id=model.account_id,
                owner_id=model.owner_id,
                name=f"More {i}",
                amount=model.amount,
                playbook=model.playbook,
                stage=model.stage,
                buyer_stage=model.buyer_stage,
                expected_close=model.expected_close,
                stage_entered_at=model.stage_entered_at,
            )
            for i in range(n)
        ],
        batch_size=500,
    )


@pytest.mark.threaded_server
@pytest.mark.django_db(transaction=True)
def test_one_moment_reads_the_database_as_it_was_at_its_first_query(world):
    # A writer on another connection commits between two reads: inside one_moment the
    # second read does not see it (the dashboard's figures add up); outside it does.
    # Threads need a database that takes several connections (PostgreSQL's run).
    import threading

    from django.db import connections

    from kam.core.db import one_moment
    from kam.users.models import User

    def write(name: str) -> None:
        try:
            User.objects.create_user(username=name, password="x" * 12)
        finally:
            connections.close_all()

    def another(name: str) -> None:
        thread = threading.Thread(target=write, args=(name,))
        thread.start()
        thread.join()

    before = User.objects.count()
    with one_moment():
        first = User.objects.count()
        another("moment_1")
        assert User.objects.count() == first == before
    assert User.objects.count() == before + 1
    another("moment_2")
    assert User.objects.count() == before + 2


AT = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("since", "days"),
    [
        ("2026-03-01T10:00:00+00:00", 9),  # nine days to the second
        ("2026-03-01T10:00:00.001000+00:00", 8),  # a millisecond short of nine
        ("2026-03-01T09:59:59.999000+00:00", 9),
        ("2026-03-01T18:00:00+08:00", 9),  # 10:00 UTC, in Beijing's time
        ("2026-03-10T10:00:00+00:00", 0),
        ("2026-03-12T10:00:00+00:00", 0),  # after `until`: never below 0
        (None, None),  # JSON null
        ("", None),  # the key missing
    ],
)
@pytest.mark.django_db
def test_whole_days_counts_as_python_does(since, days):
    # The dashboard counts days in a stage (an event's time minus the ISO text in its
    # JSON) and cycle days (two datetime columns) in SQL: the same whole days as
    # max(0, (until - since).days) in Python, NULL where there is no moment.
    from django.db.models.fields.json import KT

    from kam.core.db import WholeDays
    from kam.core.models import Event

    before = {} if since == "" else {"stage_entered_at": since}
    event = Event.objects.create(
        at=AT, entity="opportunity", entity_id=1, action="advanced", before=before
    )
    found = (
        Event.objects.filter(pk=event.pk)
        .annotate(d=WholeDays("at", KT("before__stage_entered_at")))
        .values_list("d", flat=True)
        .get()
    )
    assert found == days
    if days is not None:
        assert max(0, (AT - dt.datetime.fromisoformat(since)).days) == days
        # and between two datetime columns
        assert (
            Event.objects.filter(pk=event.pk)
            .annotate(d=WholeDays("at", Value(dt.datetime.fromisoformat(since))))
            .values_list("d", flat=True)
            .get()
        ) == days


# --- PostgreSQL's JIT, off for KAM's connections -------------------------------------------


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("postgres://kam:x@127.0.0.1:5432/kam", "-c jit=off"),
        (
            "postgres://kam:x@127.0.0.1:5432/kam?options=-c%20statement_timeout%3D5000",
            "-c statement_timeout=5000 -c jit=off",
        ),
    ],
)
def test_a_postgresql_url_gets_jit_off_and_keeps_its_own_options(monkeypatch, url, options):
    from kam.config import settings

    monkeypatch.setenv("KAM_DATABASE_URL", url)
    monkeypatch.delenv("KAM_DATABASE_URL_FILE", raising=False)
    assert settings._databases()["default"]["OPTIONS"]["options"] == options


def test_a_sqlite_url_gets_no_postgresql_options(monkeypatch, tmp_path):
    from kam.config import settings

    monkeypatch.setenv("KAM_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}")
    monkeypatch.delenv("KAM_DATABASE_URL_FILE", raising=False)
    assert "options" not in settings._databases()["default"].get("OPTIONS", {})


@pytest.mark.django_db
def test_the_connection_runs_without_jit_on_postgresql():
    if connection.vendor != "postgresql":
        assert connection.vendor == "sqlite"  # SQLite has no JIT: nothing to turn off
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def cache_size():
    """SQLite's page cache of this connection (None on PostgreSQL, which has none of its
    own per connection)."""
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        return cursor.fetchone()[0]


LARGER = -db_module.BULK_CACHE_KIB if connection.vendor == "sqlite" else None


def test_a_bulk_load_has_a_larger_page_cache_and_gives_it_back(db):
    # given
    before = cache_size()
    # when / then: larger inside, as before after, also when the load fails
    with db_module.bulk_cache():
        assert cache_size() == LARGER
    assert cache_size() == before
    with pytest.raises(RuntimeError), db_module.bulk_cache():
        raise RuntimeError("the load failed")
    assert cache_size() == before
    assert connection.vendor != "sqlite" or before != LARGER


def test_the_import_runs_with_the_larger_page_cache(world, monkeypatch):
    # given: the import's sheets read while it runs
    from kam.transfer import importer

    seen = []
    real = importer._import_sheet

    def watched(*args, **kwargs):
        seen.append(cache_size())
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "_import_sheet", watched)
    before = cache_size()
    # when
    report = importer.write_sheets(
        [Sheet("客户", [["客户名称*"], ["新客户"]])], actor=world.admin, name="t.xlsx"
    )
    # then
    assert report.written
    assert seen == [LARGER]
    assert cache_size() == before


@pytest.fixture
def deals(world):
    """Seven deals of one account, several closing on the same day (the order's tie)."""
    from kam.accounts.services import account_create
    from kam.opportunities.services import opportunity_create

    account = account_create(actor=world.rep_a, name="Page Works")
    return [
        opportunity_create(actor=world.rep_a, account=account, name=f"D{i}", amount="10",
                           expected_close=dt.date(2027, 1, 1 + i % 3))
        for i in range(7)
    ]


@pytest.mark.parametrize(("start", "stop"), [(0, 3), (2, 5), (5, 7), (6, 50), (7, 9)])
def test_page_rows_are_the_slice_of_the_ordered_list(deals, start, stop):
    from kam.core.db import page_rows
    from kam.opportunities.models import Opportunity

    ordered = Opportunity.objects.select_related("account").order_by("expected_close", "-id")
    # as objects, and as the dicts a `read` makes
    assert page_rows(ordered, start, stop) == list(ordered[start:stop])
    as_dicts = page_rows(ordered, start, stop, read=lambda qs: qs.values("id", "name"))
    assert as_dicts == list(ordered.values("id", "name")[start:stop])


def test_the_opportunity_list_sorts_ids_alone_then_reads_the_page(world, deals, client):
    # The admin's list of 1,000,000 deals joined each to its account and owner before
    # keeping 50 (0.7 s): the sorted query reads the ids alone, the page is read by id.
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client.force_login(world.admin)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("opportunity-list"))
    assert response.status_code == 200
    limited = [q["sql"] for q in ctx.captured_queries if "LIMIT" in q["sql"]
               and "opportunities_opportunity" in q["sql"]]
    sorted_ids = [sql for sql in limited if "ORDER BY" in sql]
    assert len(sorted_ids) == 1
    assert "JOIN" not in sorted_ids[0]
    selected = sorted_ids[0].split(" FROM ")[0]
    assert selected.startswith('SELECT "opportunities_opportunity"."id"') and "," not in selected
    # and the page shows every deal in the list's order
    html = response.content.decode()
    names = [d.name for d in sorted(deals, key=lambda d: (d.expected_close, d.pk))]
    assert [html.index(f">{n}<") for n in names] == sorted(html.index(f">{n}<") for n in names)
