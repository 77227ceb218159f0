"""The one source of "now". Services and rules ask here, so tests can move time
(`freeze(...)`) without patching datetime all over the code base.

A freeze holds for the code that set it only — its thread or task (a context
variable): an import that records a deal's past under `freeze` in one request must not
move the clock of the requests served beside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

_frozen: ContextVar[dt.datetime | None] = ContextVar("kam_clock_frozen", default=None)


def now() -> dt.datetime:
    frozen = _frozen.get()
    return frozen if frozen is not None else timezone.now()


def today(tz: dt.tzinfo | None = None) -> dt.date:
    """Today in `tz`, by default the current time zone (give it when at hand: looking it
    up costs more than the rest)."""
    return timezone.localdate(now(), tz)


@contextmanager
def freeze(at: dt.datetime) -> Iterator[None]:
    """Pin the clock (tests, demo loading of historical events, imported history)."""
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    token = _frozen.set(at)
    try:
        yield
    finally:
        _frozen.reset(token)
