"""The one source of "now". Services and rules ask here, so tests can move time
(`freeze(...)`) without patching datetime all over the code base."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    return _frozen if _frozen is not None else timezone.now()


def today() -> dt.date:
    return timezone.localdate(now())


@contextmanager
def freeze(at: dt.datetime) -> Iterator[None]:
    """Pin the clock (tests, demo loading of historical events)."""
    global _frozen
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    previous, _frozen = _frozen, at
    try:
        yield
    finally:
        _frozen = previous
