"""An opportunity's competitor scoring table (竞争对手分析表, SPEC §6, §10): reading it
with each party's weighted total, the gap per criterion and the rivals ahead of us,
and replacing it as a whole.

A table is a set of 1–5 scores, one per party (us, or a recorded competitor) and
criterion of models/competition.toml; a party is in the table while it has at least
one score. Visibility is the deal's: callers first find the opportunity through
`opportunity_get_for_user` (read) or `opportunity_get_for_edit` (write). The
arithmetic is kam/methodology/competition.py; the alert built on it,
competitor_stronger, is kam/methodology/competition_risks.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kam.competition.competitors import competitor_list
from kam.competition.models import CompetitionScore, Competitor
from kam.core import audit, clock
from kam.core.errors import ValidationFailed
from kam.core.i18n import language, show
from kam.methodology import registry
from kam.methodology.competition import (
    SCORE_MAX,
    SCORE_MIN,
    Comparison,
    CompetitionModel,
    Gap,
    compare,
    gaps,
    is_complete,
    weighted_total,
)

US = "us"
DIGITS = re.compile(r"[0-9]{1,20}")
ACTION = "competition_scored"
MAX_ID = 2**63 - 1


def model() -> CompetitionModel:
    return registry.current().competition


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """One column of the table: us (`competitor` None) or a rival."""

    competitor: Competitor | None
    scores: dict[str, int]
    total: float | None  # 0–100 over the criteria scored
    complete: bool  # every criterion scored
    comparison: Comparison | None = None  # a rival against us, over the criteria both have

    @property
    def key(self) -> str:
        """How the API names the party: "us" or the competitor's id as text."""
        return US if self.competitor is None else str(self.competitor.pk)

    @property
    def competitor_id(self) -> int | None:
        return None if self.competitor is None else self.competitor.pk

    @property
    def is_us(self) -> bool:
        return self.competitor is None

    @property
    def name(self) -> str:
        return _("Us") if self.competitor is None else self.competitor.name

    @property
    def ahead_of_us(self) -> bool:
        return self.comparison is not None and self.comparison.rival_ahead


@dataclass(frozen=True)
class CompetitionTable:
    model: CompetitionModel
    parties: tuple[Party, ...]  # us first (when scored), then the rivals by name
    gaps: tuple[Gap[int], ...]  # one per criterion: us − the best rival
    stronger: tuple[int, ...]  # rivals whose score beats ours over the criteria both have

    @property
    def us(self) -> Party | None:
        return next((p for p in self.parties if p.is_us), None)

    @property
    def rivals(self) -> list[Party]:
        return [p for p in self.parties if not p.is_us]

    @property
    def empty(self) -> bool:
        return not self.parties

    def scores_payload(self) -> dict[str, dict[str, int]]:
        """The table as `competition_set` (and PUT) takes it back."""
        return {p.key: dict(p.scores) for p in self.parties}


def build_table(
    m: CompetitionModel,
    us: Mapping[str, int] | None,
    rivals: list[tuple[Competitor, Mapping[str, int]]],
) -> CompetitionTable:
    """The table with its totals, gaps and the rivals ahead of us (no query)."""
    ours = dict(us or {})
    parties: list[Party] = []
    if ours:
        parties.append(Party(None, ours, weighted_total(m, ours), is_complete(m, ours)))
    for competitor, scores in rivals:
        theirs = dict(scores)
        parties.append(
            Party(
                competitor,
                theirs,
                weighted_total(m, theirs),
                is_complete(m, theirs),
                compare(m, ours, theirs) if ours else None,
            )
        )
    return CompetitionTable(
        model=m,
        parties=tuple(parties),
        gaps=tuple(gaps(m, ours, [(p.competitor.pk, p.scores) for p in parties if p.competitor])),
        stronger=tuple(p.competitor.pk for p in parties if p.competitor and p.ahead_of_us),
    )


def _rows(opportunity) -> list[CompetitionScore]:
    return list(
        CompetitionScore.objects.filter(opportunity_id=opportunity.pk)
        .select_related("competitor")
        .order_by("competitor__name", "competitor_id", "criterion")
    )


def _table_of(rows: list[CompetitionScore]) -> CompetitionTable:
    m = model()
    known = set(m.keys)
    us: dict[str, int] = {}
    rivals: dict[int, tuple[Competitor, dict[str, int]]] = {}
    for row in rows:
        if row.criterion not in known:
            continue  # a criterion an administrator has since taken out of the model
        if row.competitor is None:
            us[row.criterion] = row.score
        else:
            rivals.setdefault(row.competitor_id, (row.competitor, {}))[1][row.criterion] = row.score
    ordered = sorted(rivals.values(), key=lambda r: (r[0].name.lower(), r[0].pk))
    return build_table(m, us, [r for r in ordered if r[1]])


def competition_table(opportunity) -> CompetitionTable:
    """The deal's table: one query whatever the number of rivals."""
    return _table_of(_rows(opportunity))


# --- checking a new table --------------------------------------------------------------


def _party_id(key: Any) -> int | str | None:
    """ "us", a competitor id (int, digits, or the Competitor), or None when unreadable."""
    if isinstance(key, Competitor):
        return key.pk
    if key == US:
        return US
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key if 0 < key <= MAX_ID else None
    if isinstance(key, str) and DIGITS.fullmatch(key.strip()):
        value = int(key.strip())
        return value if 0 < value <= MAX_ID else None
    return None


def _clean(actor, scores: Any) -> tuple[dict[str, int], list[tuple[Competitor, dict[str, int]]]]:
    """Every problem of the payload at once, each named by its path (scores.12.price);
    the first is the error's `field`."""
    if not isinstance(scores, Mapping):
        raise ValidationFailed(
            _('Send the scores as an object: {"us": {criterion: 1–5}, "<competitor id>": {…}}.'),
            field="scores",
        )
    m = model()
    errors: list[tuple[str, str]] = []
    parties: dict[int | str, tuple[str, Any]] = {}
    for key, value in scores.items():
        label = str(key.pk) if isinstance(key, Competitor) else str(key)
        party = _party_id(key)
        if party is None:
            errors.append(
                (
                    f"scores.{label}",
                    _("“%(key)s” is not a party: use “us” or a competitor's id.") % {"key": label},
                )
            )
        elif party in parties:
            errors.append((f"scores.{label}", _("This party is given twice.")))
        else:
            parties[party] = (label, value)
    ids = [p for p in parties if p != US]
    competitors = {c.pk: c for c in competitor_list(actor).filter(pk__in=ids)} if ids else {}
    us: dict[str, int] = {}
    rivals: list[tuple[Competitor, dict[str, int]]] = []
    for party, (label, value) in parties.items():
        path = f"scores.{label}"
        competitor = None
        if party != US:
            competitor = competitors.get(party)  # type: ignore[call-overload]
            if competitor is None:
                errors.append(
                    (
                        path,
                        _("No such competitor: %(id)s. Record the rival first.") % {"id": label},
                    )
                )
                continue
        who = competitor.name if competitor else _("us")
        if not isinstance(value, Mapping):
            message = _("Send the scores of %(party)s as an object of criterion: 1–5.")
            errors.append((path, message % {"party": who}))
            continue
        if not value:
            errors.append(
                (
                    path,
                    _("Score %(party)s on at least one criterion, or leave it out of the table.")
                    % {"party": who},
                )
            )
            continue
        clean: dict[str, int] = {}
        for criterion, score in value.items():
            where = f"{path}.{criterion}"
            if criterion not in m.keys:
                errors.append(
                    (
                        where,
                        _("Unknown criterion “%(key)s”; the table scores: %(keys)s.")
                        % {"key": criterion, "keys": ", ".join(m.keys)},
                    )
                )
            elif (
                isinstance(score, bool)
                or not isinstance(score, int)
                or not SCORE_MIN <= score <= SCORE_MAX
            ):
                errors.append(
                    (
                        where,
                        _("Score %(criterion)s with a whole number from 1 to 5.")
                        % {"criterion": show(m.criterion(criterion).name)},
                    )
                )
            else:
                clean[criterion] = score
        if competitor is None:
            us = clean
        else:
            rivals.append((competitor, clean))
    if errors:
        field, message = errors[0]
        raise ValidationFailed(
            message,
            field=field,
            extra={"errors": [{"field": f, "message": msg} for f, msg in errors]},
        )
    return us, rivals


# --- writing ---------------------------------------------------------------------------


def _snapshot(table: CompetitionTable) -> dict[str, dict[str, int]]:
    """The table for the history: {"us" | the rival's name: {criterion: score}}."""
    out: dict[str, dict[str, int]] = {}
    for party in table.parties:
        if party.competitor is None:
            name = US
        else:
            name = party.competitor.name
            if name.lower() == US or name in out:
                name = f"{name} #{party.competitor.pk}"
        out[name] = dict(party.scores)
    return out


@transaction.atomic
def competition_set(*, actor, opportunity, scores: Mapping[Any, Mapping[str, int]]):
    """Replace the deal's whole table: `scores` is {"us" | competitor id (int or text,
    or the Competitor): {criterion: 1–5}}; a party left out is taken out of the table,
    a criterion left out of a party is unscored. Any problem → ValidationFailed naming
    its path (scores.12.price), every problem listed in `extra["errors"]`, nothing
    written. One event "competition_scored" on the opportunity with the table before
    and after (none when nothing changed). Returns the table as stored."""
    from kam.opportunities.models import Opportunity

    us, rivals = _clean(actor, scores)
    opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    rows = _rows(opp)
    before = _table_of(rows)
    wanted: dict[tuple[int | None, str], int] = {(None, k): v for k, v in us.items()}
    for competitor, values in rivals:
        wanted.update({(competitor.pk, k): v for k, v in values.items()})
    have = {(r.competitor_id, r.criterion): r for r in rows}
    now = clock.now()
    gone = [r.pk for key, r in have.items() if key not in wanted]
    changed = []
    for key, row in have.items():
        if key in wanted and row.score != wanted[key]:
            row.score, row.updated_at = wanted[key], now
            changed.append(row)
    new = [
        CompetitionScore(
            opportunity=opp,
            competitor_id=pk,
            criterion=criterion,
            score=score,
            created_at=now,
            updated_at=now,
        )
        for (pk, criterion), score in wanted.items()
        if (pk, criterion) not in have
    ]
    if gone:
        CompetitionScore.objects.filter(pk__in=gone).delete()
    if changed:
        CompetitionScore.objects.bulk_update(changed, ["score", "updated_at"])
    if new:
        CompetitionScore.objects.bulk_create(new)
    after = competition_table(opp)
    old, fresh = _snapshot(before), _snapshot(after)
    if old != fresh:
        audit.record(
            actor=actor,
            entity="opportunity",
            entity_id=opp.pk,
            action=ACTION,
            before=old,
            after=fresh,
            opportunity_id=opp.pk,
            account_id=opp.account_id,
        )
    return after


# --- the history ---------------------------------------------------------------------------


def history_lines(before: Mapping, after: Mapping) -> list[tuple[str, str, str]]:
    """A "competition_scored" event as (party, before, after) lines for the deal's
    history: a party added or removed with its total, a party rescored with just the
    criteria that changed and its new total. Us first, then the rivals by name."""
    m = model()
    zh = language().lower().startswith("zh")
    sep = "、" if zh else ", "

    def label(name: str) -> str:
        return _("Us") if name == US else name

    def scores_of(value: Any) -> dict[str, int]:
        if not isinstance(value, Mapping):
            return {}
        return {k: v for k, v in value.items() if k in m.keys and isinstance(v, int)}

    def total(scores: dict[str, int]) -> str:
        found = weighted_total(m, scores)
        return "—" if found is None else f"{found:.1f}"

    def summary(scores: dict[str, int]) -> str:
        return _("%(n)s scored, total %(total)s") % {"n": len(scores), "total": total(scores)}

    def cells(scores: dict[str, int], keys: list[str]) -> str:
        shown = sep.join(f"{show(m.criterion(k).name)} {scores.get(k, '–')}" for k in keys)
        return _("%(cells)s (total %(total)s)") % {"cells": shown, "total": total(scores)}

    names = [n for n in (*after.keys(), *before.keys()) if n != US]
    order = ([US] if US in after or US in before else []) + sorted(set(names), key=str.lower)
    lines = []
    for name in order:
        old, new = scores_of(before.get(name)), scores_of(after.get(name))
        if old == new:
            continue
        if name not in before:
            lines.append((label(name), "—", summary(new)))
        elif name not in after:
            lines.append((label(name), summary(old), _("taken out of the table")))
        else:
            changed = [k for k in m.keys if old.get(k) != new.get(k)]
            lines.append((label(name), cells(old, changed), cells(new, changed)))
    return lines
