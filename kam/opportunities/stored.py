"""Each open deal's assessment, kept until it may have changed.

The dashboard and the alert scan need, for every open deal of a book, its win
probability and its alerts' codes and severities. Computing them runs the
methodology's rules per deal in Python (150–300 µs a deal, some 20 s for a book of
60,000 open deals), so what they need is kept in `StoredAssessment` and computed again
only when it may have changed:

- the deal's facts changed: database triggers raise the deal's `FactsRevision` on every
  table the rules read (kam/opportunities/triggers.py), so no writer can forget it;
- the methodology changed: `fingerprint()` covers the files' content and the rule
  code, so an edited playbook or risks.toml, or a new release, recomputes every deal;
- time passed: the rules that read the clock say when their answer may next change
  (`risks.valid_until`: a stalled deal's next threshold day, a buying-centre change
  leaving the window); a kept row is used only from `computed_at` up to then.

The revision is read before the facts, so a change committed between the two leaves
the stored row one revision behind: computed again next time, never kept stale.

`summaries()` reads a queryset's open deals with their kept rows in one query per
2,000 deals, computes the ones that do not hold (one round of fact queries), stores
them and yields every deal with its `Summary`. Writing is best effort: a database too
busy to take the rows leaves them to the next reader, the answer is the same.

Messages (titles, what to do) are not kept: they name days and people and are shown in
the reader's language, so the few deals a page shows are assessed in full
(`assess.assess_many`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from django.db import DatabaseError, transaction
from django.db.models import BooleanField, Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from pydantic import BaseModel

from kam.core import clock
from kam.methodology import registry, risks
from kam.opportunities import assess, rules, triggers
from kam.opportunities import facts as facts_module
from kam.opportunities.models import Opportunity, Status, StoredAssessment

log = logging.getLogger(__name__)

CHUNK = facts_module.CHUNK

# Without a time at which it may change, a kept row is still computed again after this
# long (spread over a day by deal id, so a book does not expire all at once).
LONGEST = dt.timedelta(days=7)

# What the rules read of the deal itself (the rest comes from facts.deal_facts_many).
DEAL_COLUMNS = ("pk", *triggers.OPPORTUNITY_FACTS)
_N = len(DEAL_COLUMNS)


class _Deal(NamedTuple):
    pk: int
    playbook: str
    stage: str
    buyer_stage: str
    status: str
    priority: str
    stage_entered_at: dt.datetime
    expected_close: dt.date


@dataclass(frozen=True, slots=True)
class Summary:
    """What is kept of a deal's assessment."""

    probability: int
    alerts: tuple[tuple[str, str], ...]  # (code, severity), most severe first


_NO_ALERTS: tuple[tuple[str, str], ...] = ()


def encode(alerts: tuple[tuple[str, str], ...]) -> str:
    return " ".join(f"{code}/{severity}" for code, severity in alerts)


_DECODED: dict[str, tuple[tuple[str, str], ...]] = {"": _NO_ALERTS}


def decode(text: str) -> tuple[tuple[str, str], ...]:
    """`encode`'s text back (a book repeats a few hundred combinations: each is split
    once)."""
    found = _DECODED.get(text)
    if found is None:
        if len(_DECODED) > 10_000:
            _DECODED.clear()
            _DECODED[""] = _NO_ALERTS
        found = _DECODED[text] = tuple(
            tuple(item.split("/", 1))  # type: ignore[misc]
            for item in text.split(" ")
        )
    return found


def summary_of(found: assess.Assessment) -> Summary:
    return Summary(found.probability, tuple((a.code, a.severity) for a in found.alerts))


# --- what the kept rows depend on besides the facts ----------------------------------------

# The code of the rules and of what feeds them: a new release recomputes every deal.
_RULE_MODULES = (
    "kam/methodology/risks.py",
    "kam/methodology/centre_risks.py",
    "kam/methodology/competition_risks.py",
    "kam/methodology/checks.py",
    "kam/methodology/competition.py",
    "kam/methodology/facts.py",
    "kam/opportunities/rules.py",
    "kam/opportunities/facts.py",
    "kam/opportunities/assess.py",
)
_ROOT = Path(__file__).resolve().parents[2]


def fingerprint() -> str:
    """The methodology the rules run with, as a short digest: the content of every
    model and playbook file in use, and the rules' code. Kept with the methodology
    object, which a reload replaces."""
    m = registry.current()
    known = getattr(m, "_assessment_fingerprint", None)
    if known is not None:
        return known
    digest = hashlib.blake2b(digest_size=16)
    parts = [
        m.buyer,
        m.milestones,
        m.evaluation,
        m.priority,
        m.risks,
        m.buying_centre,
        m.competition,
        *(m.playbooks[k] for k in sorted(m.playbooks)),
    ]
    for part in parts:
        digest.update(part.model_dump_json().encode() if isinstance(part, BaseModel) else b"")
        digest.update(b"\0")
    for name in _RULE_MODULES:
        digest.update((_ROOT / name).read_bytes())
    m._assessment_fingerprint = digest.hexdigest()
    return m._assessment_fingerprint


# --- reading and keeping ----------------------------------------------------------------------


def summaries(
    deals, extra: tuple[str, ...] = (), where: Q | None = None
) -> Iterator[tuple[tuple, Summary]]:
    """The open deals of the queryset `deals` in its order, each as (the values of the
    `extra` columns, its Summary), read CHUNK deals at a time. Kept rows that hold are
    used (whether one holds is decided in SQL); the others are computed (one round of
    fact queries per chunk) and kept. `where`: a condition on the kept rows that narrows
    the deals read (the deals without a kept row that holds are read all the same)."""
    config = fingerprint()
    now = clock.now()
    rows = deals.filter(status=Status.OPEN).annotate(_holds=holds(config, now))
    if where is not None:
        rows = rows.filter(Q(_holds=False) | where)
    rows = rows.values_list(
        "pk",
        "_holds",
        "stored_assessment__probability",
        "stored_assessment__alerts",
        *extra,
    ).iterator(chunk_size=CHUNK)
    while True:
        chunk = list(islice(rows, CHUNK))
        if not chunk:
            return
        found: dict[int, Summary] = {}
        stale: list[int] = []
        for pk, held, probability, alerts, *_rest in chunk:
            if held:
                found[pk] = Summary(probability, decode(alerts))
            else:
                stale.append(pk)
        if stale:
            found.update(_compute(stale, config, now))
        for row in chunk:
            summary = found.get(row[0])
            if summary is not None:  # None: deleted since the chunk was read
                yield row[4:], summary


def holds(config: str, now: dt.datetime) -> Case:
    """SQL: the deal's kept row holds (same revision and methodology, in its time)."""
    return Case(
        When(
            Q(stored_assessment__rev=Coalesce(F("facts_revision__rev"), Value(0)))
            & Q(stored_assessment__config=config)
            & Q(stored_assessment__computed_at__lte=now)
            & Q(stored_assessment__valid_until__gt=now),
            then=Value(True),
        ),
        default=Value(False),
        output_field=BooleanField(),
    )


# What `assess_rows` takes: a deal's DEAL_COLUMNS and then its revision.
ROW_COLUMNS = (*DEAL_COLUMNS, "facts_revision__rev")


def _compute(ids: list[int], config: str, now: dt.datetime) -> dict[int, Summary]:
    """Assess the deals `ids`, keep and return them. Their revision is read with them,
    before their facts."""
    out, keep = assess_rows(
        Opportunity.objects.filter(pk__in=ids).values_list(*ROW_COLUMNS), config, now
    )
    _keep(keep)
    return out


def assess_rows(
    rows, config: str, now: dt.datetime
) -> tuple[dict[int, Summary], list[StoredAssessment]]:
    """Assess the deals of `rows` (each its ROW_COLUMNS, read before its facts): their
    Summary, and the rows that keep them (for `keep`)."""
    deals, revisions = [], {}
    for row in rows:
        deals.append(_Deal(*row[:_N]))
        revisions[row[0]] = row[_N] or 0
    m = registry.current()
    contexts: dict[str, risks.RiskContext] = {}
    out: dict[int, Summary] = {}
    keep: list[StoredAssessment] = []
    with clock.freeze(now):  # the facts' change window and the rules see the same moment
        facts = facts_module.deal_facts_many(deals)
        for deal in deals:
            ctx = contexts.get(deal.playbook)
            if ctx is None:
                ctx = contexts[deal.playbook] = assess.risk_context(deal.playbook)
            f = facts[deal.pk]
            summary = summary_of(assess.assess_facts(f, ctx))
            out[deal.pk] = summary
            until = risks.valid_until(f, ctx, m.risks)
            longest = now + LONGEST + dt.timedelta(seconds=deal.pk % 86400)
            keep.append(
                StoredAssessment(
                    opportunity_id=deal.pk,
                    rev=revisions[deal.pk],
                    config=config,
                    computed_at=now,
                    valid_until=min(until, longest) if until is not None else longest,
                    probability=summary.probability,
                    alerts=encode(summary.alerts),
                )
            )
    return out, keep


def keep(rows: list[StoredAssessment]) -> None:
    """Store the rows `assess_rows` made, in chunks (best effort, as `_keep`)."""
    for start in range(0, len(rows), CHUNK):
        _keep(rows[start : start + CHUNK])


def _keep(rows: list[StoredAssessment]) -> None:
    try:
        with transaction.atomic():
            StoredAssessment.objects.bulk_create(
                rows,
                batch_size=500,
                update_conflicts=True,
                unique_fields=["opportunity"],
                update_fields=[
                    "rev",
                    "config",
                    "computed_at",
                    "valid_until",
                    "probability",
                    "alerts",
                ],
            )
    except DatabaseError as exc:  # busy: the next reader computes them again
        log.warning("assessments not kept (%s): %s", len(rows), exc)


def with_kept(deals, config: str, now: dt.datetime):
    """The queryset `deals` with each deal's kept win probability (`kept_probability`)
    and whether it holds (`kept_holds`), for `probabilities`."""
    return deals.annotate(
        kept_holds=holds(config, now), kept_probability=F("stored_assessment__probability")
    )


def probabilities(
    rows: list[tuple[int, str, bool, int | None]], config: str, now: dt.datetime
) -> dict[int, int]:
    """The win probability of each deal of `rows` (id, status, kept_holds,
    kept_probability): fixed for a closed deal, the kept one where it holds, else
    assessed (one round of fact queries for all of them) and kept. A deal deleted since
    it was read is left out."""
    out: dict[int, int] = {}
    stale: list[int] = []
    for pk, status, held, kept in rows:
        if status in rules.CLOSED_PROBABILITY:
            out[pk] = rules.CLOSED_PROBABILITY[status]
        elif held:
            out[pk] = kept
        else:
            stale.append(pk)
    if stale:
        out.update((pk, s.probability) for pk, s in _compute(stale, config, now).items())
    return out


def summaries_of(ids: list[int]) -> dict[int, Summary]:
    """The Summary of each open deal of `ids` (closed deals are left out)."""
    out: dict[int, Summary] = {}
    for start in range(0, len(ids), CHUNK):
        part = Opportunity.objects.filter(pk__in=ids[start : start + CHUNK])
        for (pk,), summary in summaries(part, ("pk",)):
            out[pk] = summary
    return out
