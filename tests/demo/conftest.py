"""One demo load shared by the read-only tests of a module: loading takes seconds,
and these tests only look. The load runs in a transaction rolled back when the
module is done, so nothing leaks into other tests."""

from __future__ import annotations

import io

import pytest
from django.db import transaction
from django.test import override_settings

from kam.demo.loader import DemoSummary, load_demo

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class _Rollback(Exception):
    pass


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> tuple[DemoSummary, str]:
    """(summary, printed output) of a demo loaded for the whole module. Tests using it
    also ask for `db`, which wraps each of them in its own rolled-back savepoint."""
    out = io.StringIO()
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        try:
            with transaction.atomic():
                summary = load_demo(out=out)
                yield summary, out.getvalue()
                raise _Rollback
        except _Rollback:
            pass
