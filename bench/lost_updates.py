"""Lost updates under concurrent read-modify-write (issue 9), measured once:
8 threads × 100 "read the deal, add 1 to its amount, write it back" through the API of
`kam serve` on a fresh SQLite (WAL) data folder — first as naive code does it (no
If-Match: the last write wins), then with If-Match (a stale write is a 412, re-read
and retried). Prints the updates lost by each and the time taken.

    .venv/bin/python bench/lost_updates.py

The test that guards the second figure is
tests/security/test_concurrency.py::test_eight_threads_lose_no_update_with_if_match_on_sqlite_wal;
this script shares its code (the server, the client, the threads)."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The test module imports models: Django set up on a throw-away folder of its own
# (the server below gets another one).
os.environ.setdefault("KAM_DATA_DIR", tempfile.mkdtemp(prefix="kam-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.config.settings")
django.setup()

from tests.security.test_concurrency import (  # noqa: E402
    THREADS,
    UPDATES_PER_THREAD,
    _new_deal,
    kam_served,
    read_modify_write,
)


def main() -> int:
    total = THREADS * UPDATES_PER_THREAD
    print(
        f"{THREADS} threads × {UPDATES_PER_THREAD} read-modify-write updates, kam serve on "
        f"SQLite WAL; {platform.machine()}, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as folder, kam_served(Path(folder)) as (base, token):
        for use_if_match in (False, True):
            deal = _new_deal(base, token)
            result = read_modify_write(base, token, deal, use_if_match=use_if_match)
            lost = total - int(result["amount"])
            label = "with If-Match" if use_if_match else "naive (no If-Match)"
            print(
                f"{label:>20}: {total - lost} of {total} kept, {lost} lost "
                f"({lost / total:.0%}), {result['retries']} retries after 412, "
                f"{result['seconds']:.1f} s, errors {len(result['errors'])}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
