"""Several people edit the same deal (issue 9): versions, ETags and If-Match.

The unit tests check the contract on each versioned record. The race tests run
real threads against a real server over loopback: `kam serve` on a SQLite (WAL)
folder of its own, and pytest-django's live server on the suite's database
(PostgreSQL in the PostgreSQL run)."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from decimal import Decimal

import pytest

from kam.core.models import Event
from kam.opportunities.models import Opportunity
from kam.stakeholders.services import stakeholder_add

THREADS = 8
# bench/lost_updates.py races 8 × 100; the tests 8 × 25: the naive code lost 82% of its
# updates, so a race that loses none in 200 is as plain a proof, in a quarter of the time
# (8 × 100 took 83-93 s of the suite on the 2-core CI machine).
UPDATES_PER_THREAD = 100
TEST_UPDATES_PER_THREAD = 25


def _etag(response) -> str:
    return response.headers["ETag"]


# --- the contract, record by record ---------------------------------------------


@pytest.mark.parametrize("kind", ["opportunities", "accounts"])
def test_every_read_gives_the_version_as_body_field_and_etag(book, api_as, world, kind):
    # given
    record = book["rep_a"]["opportunity" if kind == "opportunities" else "account"]
    client = api_as(world.rep_a)
    # when
    response = client.get(f"{kind}/{record.pk}")
    # then
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert _etag(response) == '"1"'


@pytest.mark.parametrize(
    ("kind", "change"),
    [("opportunities", {"amount": "123456.00"}), ("accounts", {"region": "华东"})],
)
def test_a_write_based_on_the_current_version_succeeds_and_raises_it(
    book, api_as, world, kind, change
):
    # given
    record = book["rep_a"]["opportunity" if kind == "opportunities" else "account"]
    client = api_as(world.rep_a)
    tag = _etag(client.get(f"{kind}/{record.pk}"))
    # when
    response = client.patch_with(f"{kind}/{record.pk}", change, if_match=tag)
    # then
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2
    assert _etag(response) == '"2"'


@pytest.mark.parametrize(
    ("kind", "change"),
    [("opportunities", {"amount": "123456.00"}), ("accounts", {"region": "华东"})],
)
def test_a_write_based_on_a_stale_version_is_412_and_changes_nothing(
    book, api_as, world, kind, change
):
    # given: rep_a read version 1; the manager changed the record meanwhile
    record = book["rep_a"]["opportunity" if kind == "opportunities" else "account"]
    rep, manager = api_as(world.rep_a, "zh-hans"), api_as(world.manager_east, "zh-hans")
    stale = _etag(rep.get(f"{kind}/{record.pk}"))
    assert manager.patch(f"{kind}/{record.pk}", {"name": "经理改过的名字"}).status_code == 200
    before = (_rows(kind), Event.objects.count())
    # when
    response = rep.patch_with(f"{kind}/{record.pk}", change, if_match=stale)
    # then
    assert response.status_code == 412
    body = response.json()
    assert body["version"] == 2 and body["your_version"] == 1
    assert body["field"] == "If-Match"
    assert "别人" in body["detail"]  # in the user's language
    assert (_rows(kind), Event.objects.count()) == before


def test_without_if_match_the_last_write_wins_as_before(book, api_as, world):
    # given
    deal = book["rep_a"]["opportunity"]
    client = api_as(world.rep_a)
    client.patch(f"opportunities/{deal.pk}", {"amount": "1.00"})
    # when
    response = client.patch(f"opportunities/{deal.pk}", {"amount": "2.00"})
    # then
    assert response.status_code == 200
    assert response.json()["amount"] == "2.00"
    assert response.json()["version"] == 3


@pytest.mark.parametrize("header", ["*", 'W/"1"', "1", '"1"'])
def test_if_match_accepts_the_usual_spellings(book, api_as, world, header):
    deal = book["rep_a"]["opportunity"]
    response = api_as(world.rep_a).patch_with(
        f"opportunities/{deal.pk}", {"name": "X"}, if_match=header
    )
    assert response.status_code == 200


@pytest.mark.parametrize("header", ["abc", '"v1"', '"1", "2"', "1" * 30])
def test_an_unreadable_if_match_is_a_422_naming_the_header(book, api_as, world, header):
    deal = book["rep_a"]["opportunity"]
    before = _rows("opportunities")
    response = api_as(world.rep_a).patch_with(
        f"opportunities/{deal.pk}", {"name": "X"}, if_match=header
    )
    assert response.status_code == 422
    assert response.json()["field"] == "If-Match"
    assert _rows("opportunities") == before


def test_stakeholder_reads_and_writes_carry_the_version(book, api_as, world):
    # given
    deal, contact = book["rep_a"]["opportunity"], book["rep_a"]["contact"]
    sid = stakeholder_add(actor=world.rep_a, opportunity=deal, contact=contact).pk
    client = api_as(world.rep_a)
    path = f"opportunities/{deal.pk}/stakeholders/{sid}"
    first = client.get(path)
    assert first.status_code == 200 and _etag(first) == '"1"'
    listed = client.get(f"opportunities/{deal.pk}/stakeholders").json()
    assert [s["version"] for s in listed] == [1]
    # when
    ok = client.patch_with(path, {"stance": "supporter"}, if_match=_etag(first))
    stale = client.patch_with(path, {"stance": "enemy"}, if_match=_etag(first))
    stale_delete = client.delete_with(path, if_match=_etag(first))
    # then
    assert ok.status_code == 200 and ok.json()["version"] == 2 and _etag(ok) == '"2"'
    assert stale.status_code == 412 and stale_delete.status_code == 412
    assert client.get(path).json()["stance"] == "supporter"


def test_advance_and_close_raise_the_version_and_honour_if_match(book, api_as, world):
    # given
    deal = book["rep_a"]["opportunity"]
    manager = api_as(world.manager_east)
    tag = _etag(manager.get(f"opportunities/{deal.pk}"))
    # when: a forced advance based on the current version, then a close on the old one
    moved = manager.post_with(
        f"opportunities/{deal.pk}/advance", {"force": True, "reason": "客户催"}, if_match=tag
    )
    refused = manager.post_with(
        f"opportunities/{deal.pk}/close", {"outcome": "lost", "reason": "价格"}, if_match=tag
    )
    # then
    assert moved.status_code == 200 and moved.json()["version"] == 2
    assert refused.status_code == 412
    assert Opportunity.objects.get(pk=deal.pk).status == "open"


def test_an_account_deleted_meanwhile_is_a_404_not_a_crash(world, api_as):
    from kam.accounts.services import account_create

    account = account_create(actor=world.rep_a, name="短命客户")
    client = api_as(world.rep_a)
    tag = _etag(client.get(f"accounts/{account.pk}"))
    assert client.delete(f"accounts/{account.pk}").status_code == 204
    response = client.delete_with(f"accounts/{account.pk}", if_match=tag)
    assert response.status_code == 404


def _rows(kind: str) -> list:
    from kam.accounts.models import Account

    model = Opportunity if kind == "opportunities" else Account
    return list(model.objects.order_by("pk").values())


# --- races: real threads, a real server --------------------------------------------


class Http:
    """A keep-alive HTTP/1.1 client on loopback, one per thread."""

    def __init__(self, base: str, token: str):
        host, port = base.removeprefix("http://").rstrip("/").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def send(self, method: str, path: str, body=None, **headers):
        payload = None if body is None else json.dumps(body)
        self.conn.request(method, path, body=payload, headers={**self.auth, **headers})
        response = self.conn.getresponse()
        data = response.read()
        kind = response.getheader("Content-Type", "")
        body = json.loads(data) if data and kind.startswith("application/json") else data
        return response.status, response.getheader("ETag"), body


def read_modify_write(
    base: str, token: str, deal: int, *, use_if_match: bool, updates: int = UPDATES_PER_THREAD
) -> dict:
    """THREADS threads each add 1 to the deal's amount UPDATES_PER_THREAD times: read,
    add, write. With If-Match a stale write is refused (412) and retried from a new
    read; without it, a write based on an old read silently undoes another's."""
    path = f"/api/v1/opportunities/{deal}"
    errors: list[str] = []
    retries = [0]
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def work(seed: int):
        client = Http(base, token)
        jitter = random.Random(seed)
        start.wait()
        for _ in range(updates):
            attempt = 0
            while True:
                status, tag, body = client.send("GET", path)
                if status != 200:
                    errors.append(f"GET {status} {body}")
                    return
                amount = str(Decimal(body["amount"]) + 1)
                headers = {"If-Match": tag} if use_if_match else {}
                status, _tag, body = client.send("PATCH", path, {"amount": amount}, **headers)
                if status == 200:
                    break
                if status == 412 and use_if_match:
                    with lock:
                        retries[0] += 1
                    # back off as a polite client does: a random wait that doubles
                    # with each refusal (up to 120, 240 … 960 ms; an update costs the
                    # server some 60 ms), so the threads do not retry in lock-step and
                    # a loser leaves the server to the others (a fixed wait of a few
                    # ms: 4,363 retries, 191 s; this: 1,462 retries, 82 s)
                    attempt += 1
                    time.sleep(jitter.uniform(0, 0.060 * 2 ** min(attempt, 4)))
                    continue
                errors.append(f"PATCH {status} {body}")
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - began
    final = Http(base, token).send("GET", path)[2]
    return {
        "errors": errors,
        "retries": retries[0],
        "amount": Decimal(final["amount"]),
        "version": final["version"],
        "seconds": seconds,
    }


def advance_twice_at_once(base: str, token: str, deal: int) -> list[int]:
    """Two clients press "advance" on the same deal at the same moment."""
    statuses: list[int] = []
    start = threading.Barrier(2)

    def press():
        client = Http(base, token)
        start.wait()
        statuses.append(client.send("POST", f"/api/v1/opportunities/{deal}/advance", {})[0])

    threads = [threading.Thread(target=press) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(statuses)


def _new_deal(base: str, token: str, amount: str = "0.00") -> int:
    client = Http(base, token)
    status, _, account = client.send("POST", "/api/v1/accounts", {"name": "并发客户"})
    assert status == 201, account
    status, _, deal = client.send(
        "POST",
        "/api/v1/opportunities",
        {"account_id": account["id"], "name": "并发商机", "amount": amount,
         "expected_close": str(dt.date.today() + dt.timedelta(days=90))},
    )
    assert status == 201, deal
    return deal["id"]


def _check_no_lost_update(
    base: str, token: str, updates: int = TEST_UPDATES_PER_THREAD
) -> dict:
    deal = _new_deal(base, token)
    result = read_modify_write(base, token, deal, use_if_match=True, updates=updates)
    total = THREADS * updates
    assert result["errors"] == []
    # then: no update lost — every one of the increments is in the amount
    assert result["amount"] == total
    assert result["version"] == 1 + total
    print(f"\n{total} read-modify-write updates by {THREADS} threads: lost 0, "
          f"412 retries {result['retries']}, {result['seconds']:.1f} s")
    return result


@pytest.mark.threaded_server
@pytest.mark.django_db(transaction=True)
def test_eight_threads_lose_no_update_with_if_match_on_the_live_server(live_server, world):
    # The live server shares the GIL with the threads (8 × 100 took 4.5 min here).
    from kam.users.services import token_create

    token = token_create(user=world.rep_a)
    _check_no_lost_update(live_server.url, token)


@pytest.mark.threaded_server
@pytest.mark.django_db(transaction=True)
def test_two_advances_at_once_move_the_deal_one_stage_on_the_live_server(live_server, world):
    # given: a deal whose first key node is met, but not the second's
    from kam.users.services import token_create

    token = token_create(user=world.rep_a)
    deal = _new_deal(live_server.url, token)
    _meet_first_gate(deal, world.rep_a)
    stage_before = Opportunity.objects.get(pk=deal).stage
    # when
    statuses = advance_twice_at_once(live_server.url, token, deal)
    # then: one moved it, the other found the next key node unmet: no gate skipped
    assert statuses == [200, 409]
    assert Event.objects.filter(opportunity_id=deal, action="advanced").count() == 1
    assert (stage_before, Opportunity.objects.get(pk=deal).stage) == ("development", "entry")


GOOD = {"project_grade": 4, "funding": 4, "technical_fit": 4, "relationship": 4, "credit": 4,
        "product": 4, "price": 4, "solution": 4, "service": 4}


def _meet_first_gate(deal_id: int, actor) -> None:
    """The standard playbook's first key node: an evaluation passed and a priority
    (the evaluation sets it). The next stage's key node (coach, decision maker,
    candidate status) stays unmet."""
    from kam.opportunities import process
    from kam.opportunities.assess import assess

    process.evaluation_record(actor=actor, opportunity=Opportunity.objects.get(pk=deal_id),
                              scores=GOOD)
    assert assess(Opportunity.objects.get(pk=deal_id)).gate_met


# --- the same on `kam serve` over a SQLite (WAL) folder -----------------------------

KAM = [sys.executable, "-m", "kam.cli"]


@contextmanager
def kam_served(data_dir):
    """`kam serve` (8 threads) on a fresh SQLite folder, with a rep and their token:
    yields (base URL, token). Also used by bench/lost_updates.py."""
    import socket

    env = {**os.environ, "KAM_DATA_DIR": str(data_dir)}
    env.pop("KAM_DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def kam(*args):
        done = subprocess.run([*KAM, *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    kam("user", "add", "li", "--role", "rep")
    token = kam("token", "li").split()[-1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([*KAM, "serve", "--port", str(port), "--threads", "8"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            Http(base, token).send("GET", "/healthz")
            break
        except OSError:
            assert time.monotonic() < deadline and server.poll() is None, "kam serve died"
            time.sleep(0.3)
    try:
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def kam_serve(tmp_path):
    with kam_served(tmp_path) as served:
        yield served


@pytest.mark.sqlite_cli
def test_eight_threads_lose_no_update_with_if_match_on_sqlite_wal(kam_serve):
    base, token = kam_serve
    _check_no_lost_update(base, token)


@pytest.mark.sqlite_cli
def test_two_advances_at_once_move_the_deal_one_stage_on_sqlite_wal(kam_serve):
    # given: a deal whose first key node is met (an evaluation that passes)
    base, token = kam_serve
    client = Http(base, token)
    deal = _new_deal(base, token)
    status, _, _ = client.send("PUT", f"/api/v1/opportunities/{deal}/evaluation",
                               {"scores": GOOD})
    assert status == 200
    # when
    statuses = advance_twice_at_once(base, token, deal)
    # then
    assert statuses == [200, 409]
    history = client.send("GET", f"/api/v1/opportunities/{deal}/history")[2]
    assert [e["action"] for e in history].count("advanced") == 1
    assert client.send("GET", f"/api/v1/opportunities/{deal}")[2]["stage"] == "entry"
