"""The pages people open most, timed in-process on a data set `kam bench generate` made:
each page as the admin (the whole book) and as a manager (mgr01, one team), through
Django's test client (sign-in, middleware, view, template; no HTTP), the best of three,
with the statements it ran.

    KAM_DATA_DIR=bench-data/sqlite-1000000 .venv/bin/python bench/pages.py [PATH ...]

Without paths, the pages below. The figures in docs/benchmarks.md ("Pages at
1,000,000 deals") come from this script."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.config.settings")

PAGES = (
    "/",
    "/opportunities/",
    "/opportunities/?status=open",
    "/opportunities/?page=200",
    "/opportunities/board/",
    "/alerts/",
    "/accounts/",
    "/accounts/grading/",
    "/api/v1/opportunities?page_size=50",
    "/api/v1/opportunities?status=open&page_size=50",
    "/api/v1/accounts/grading?page_size=50",
)
USERS = ("admin", "mgr01")
RUNS = 3


def main(paths: list[str]) -> None:
    if "KAM_DATA_DIR" not in os.environ and "KAM_DATABASE_URL" not in os.environ:
        sys.exit("Set KAM_DATA_DIR (or KAM_DATABASE_URL) to a data set `kam bench` made.")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    users = get_user_model().objects.filter(username__in=USERS)
    if len(users) != len(USERS):
        sys.exit(f"No users {', '.join(USERS)} here: generate the data set with `kam bench`.")
    for user in sorted(users, key=lambda u: USERS.index(u.username)):
        client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="zh-hans")
        client.force_login(user)
        print(f"== {user.username} ==")
        for path in paths or PAGES:
            best = float("inf")
            for _ in range(RUNS):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(path)
                    best = min(best, time.perf_counter() - started)
            statements, size = len(queries.captured_queries), len(response.content)
            print(
                f"  {path:<50} {response.status_code}  {best * 1000:9,.0f} ms"
                f"  {statements:3d} statements  {size:>11,} bytes"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
