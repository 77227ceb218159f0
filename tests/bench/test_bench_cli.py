"""`kam bench` on a tiny data set: generate loads through the import (the counts and
the stored rows are the generator's), refuses a database with data, and
`kam bench run --only dashboard` prints its ratio lines."""

from __future__ import annotations

import io
import re
from collections import Counter

import pytest
from django.db import transaction

from kam.benchmarks.generate import (
    HEADERS,
    BenchRefused,
    Generator,
    Plan,
    generate,
    recorded_plan,
)
from kam.cli import main
from kam.core import clock

N = 300


class _Rollback(Exception):
    pass


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """(plan, counts, printed output) of a data set of N deals, loaded once for the
    module in a transaction rolled back at its end."""
    plan = Plan(opportunities=N, seed=11, today=clock.today())
    out = io.StringIO()
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                found = generate(plan, out=out, chunk_rows=250)
                yield plan, found, out.getvalue()
                raise _Rollback
        except _Rollback:
            pass


def test_generate_loads_the_rows_through_the_import(loaded, db):
    from kam.accounts.models import Account
    from kam.contacts.models import Contact
    from kam.core.models import Event
    from kam.opportunities.models import Opportunity

    # given
    plan, found, printed = loaded
    rows = {k: [] for k in HEADERS}
    for chunk in Generator(plan).chunks():
        for kind, r in chunk.rows.items():
            rows[kind].extend(r)
    # then: the counts are the generator's, printed at the end
    assert (found.accounts, found.contacts, found.opportunities) == (
        len(rows["accounts"]),
        len(rows["contacts"]),
        N,
    )
    assert found.users == len(plan.people)
    assert f"{found.opportunities:,} opportunities, {found.events:,} events" in printed
    assert re.search(r"chunk 2: .* [\d,]+ rows/s", printed)
    # the stored deals are the generated ones, with their history
    status = Counter(r[HEADERS["opportunities"].index("status")] for r in rows["opportunities"])
    assert Counter(Opportunity.objects.values_list("status", flat=True)) == status
    assert Account.objects.filter(code=rows["accounts"][0][0]).exists()
    assert Contact.objects.exclude(reports_to=None).count() > Contact.objects.count() / 2
    created = Event.objects.filter(entity="opportunity", action="created").count()
    closed = Event.objects.filter(entity="opportunity", action="closed").count()
    assert (created, closed) == (N, N - status["open"])
    assert Event.objects.filter(entity="opportunity", action="advanced").count() > N
    # what was generated is recorded for `kam bench run`
    assert recorded_plan() == Plan(opportunities=N, seed=11, today=plan.today)


def test_generate_refuses_a_database_that_holds_data(loaded, db):
    plan, found, _printed = loaded
    with pytest.raises(BenchRefused, match=f"already holds data \\({found.accounts} accounts"):
        generate(Plan(opportunities=10, today=plan.today), out=io.StringIO())


def test_the_cli_refuses_to_generate_over_data(loaded, db, capsys):
    code = main(["bench", "generate", "--opportunities", "10"])
    assert code == 3
    assert "already holds data" in capsys.readouterr().err


def test_run_only_dashboard_prints_a_ratio_per_user(loaded, db, capsys):
    # when
    code = main(["bench", "run", "--only", "dashboard", "--runs", "1"])
    # then
    printed = capsys.readouterr().out
    assert code == 0
    lines = re.findall(
        r"^  (mgr01|admin) \(.*\): API [\d.,]+ m?s vs SQL [\d.,]+ m?s = [\d.]+× "
        r"\(goal ≤ 1.5×\) (?:ok|MISSED)",
        printed,
        re.MULTILINE,
    )
    assert lines == ["mgr01", "admin"]
    assert printed.count(
        "counts and amounts by stage, buyer stage and month, advances, outcomes: agree"
    ) == 2
    assert "== summary ==" in printed


def test_run_refuses_an_unknown_benchmark(loaded, db, capsys):
    assert main(["bench", "run", "--only", "dashboard,speed"]) == 2
    assert "--only takes dashboard, list, import, risks" in capsys.readouterr().err
