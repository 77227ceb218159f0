"""What the rule modules know about a deal: plain data, read from the database
by `kam.opportunities.facts` in a fixed number of queries (one deal or a whole
pipeline), so the rules stay pure and testable with hypothesis."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

SUPPORTIVE = frozenset({"champion", "supporter"})


@dataclass(frozen=True)
class EvaluationFacts:
    score: float
    passed: bool
    knocked_out: tuple[str, ...] = ()


@dataclass(frozen=True)
class StakeholderFacts:
    id: int
    contact_id: int
    name: str
    roles: frozenset[str]
    stance: str = "unknown"
    is_coach: bool = False
    active: bool = True  # the contact has not left the account
    joined_at: dt.date | None = None  # when the contact took their post at the account
    left_at: dt.date | None = None  # when they left it (inactive contacts)
    influence: int | None = None

    @property
    def supportive(self) -> bool:
        return self.stance in SUPPORTIVE


@dataclass(frozen=True)
class RoleChangeFacts:
    """Roles a stakeholder gave up (or their removal from the buying centre), from the
    deal's history: the input of key_person_changed besides the contacts' dates."""

    event_id: int
    stakeholder_id: int
    name: str
    at: dt.datetime
    lost_roles: frozenset[str]
    was_supportive: bool = False
    removed: bool = False  # taken out of the buying centre altogether


@dataclass(frozen=True)
class IntelFacts:
    """An intelligence item (情报) and how many different people confirmed it."""

    id: int
    text: str
    critical: bool = False
    sources: int = 1


@dataclass(frozen=True)
class CriterionFacts:
    id: int
    shaped_by_us: bool = False
    favourable: bool | None = None


@dataclass(frozen=True)
class MilestoneFacts:
    id: int
    kind: str
    date: dt.date
    price: Decimal | None = None
    margin: Decimal | None = None


@dataclass(frozen=True)
class ForcedMoveFacts:
    """A gate passed while some of its criteria were unmet (强行进入)."""

    id: int
    event_id: int | None
    from_stage: str
    unmet: tuple[str, ...]
    at: dt.datetime
    actor: str = ""


@dataclass(frozen=True)
class CompetitionFacts:
    """One party of the deal's competitor scoring table (竞争对手分析表): its 1–5 per
    criterion of models/competition.toml, unscored criteria left out."""

    competitor_id: int | None  # None: us
    name: str
    scores: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DealFacts:
    id: int
    playbook: str
    stage: str
    buyer_stage: str
    status: str
    priority: str
    stage_entered_at: dt.datetime
    expected_close: dt.date
    evaluation: EvaluationFacts | None = None
    stakeholders: tuple[StakeholderFacts, ...] = ()
    criteria: tuple[CriterionFacts, ...] = ()
    milestones: tuple[MilestoneFacts, ...] = ()
    forced_moves: tuple[ForcedMoveFacts, ...] = ()
    role_changes: tuple[RoleChangeFacts, ...] = ()
    intel: tuple[IntelFacts, ...] = ()
    competition: tuple[CompetitionFacts, ...] = ()  # us (competitor_id None) and the rivals
    extra: dict = field(default_factory=dict)  # room for later rules' inputs

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def milestone(self, kind: str) -> MilestoneFacts | None:
        """The latest recorded milestone of this kind."""
        found = [m for m in self.milestones if m.kind == kind]
        return max(found, key=lambda m: (m.date, m.id)) if found else None
