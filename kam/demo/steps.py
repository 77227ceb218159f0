"""The vocabulary of the demo's process story (kam.demo.story): the actions a deal's
history is made of, as the loader replays them through the services, and the fate
chosen for a deal before its history is told. Plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

OPEN, WON, LOST, ABANDONED = "open", "won", "lost", "abandoned"

# --- what happened: the actions the loader replays -----------------------------------


@dataclass(frozen=True)
class Create:
    buyer_stage: str


@dataclass(frozen=True)
class Evaluate:
    scores: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Person:
    contact: int  # index into the account's contacts
    roles: tuple[str, ...]
    stance: str
    coach: bool
    influence: int
    relationship: int


@dataclass(frozen=True)
class Stance:
    """Someone already mapped now stands elsewhere (won over, or turned)."""

    contact: int
    stance: str
    coach: bool | None = None  # True: they now coach us too


@dataclass(frozen=True)
class Criterion:
    text: str
    shaped_by_us: bool
    favourable: bool | None


@dataclass(frozen=True)
class Milestone:
    kind: str
    price: Decimal | None = None
    margin: Decimal | None = None
    note: str = ""


@dataclass(frozen=True)
class BuyerMove:
    stage: str


@dataclass(frozen=True)
class Advance:
    force: bool = False
    by: str = ""  # who moved it: "" is the deal's owner; a forced move names the manager
    reason: str = ""


@dataclass(frozen=True)
class Override:
    by: str
    grade: str
    reason: str


@dataclass(frozen=True)
class Close:
    outcome: str
    reason: str


Action = (
    Create
    | Evaluate
    | Person
    | Stance
    | Criterion
    | Milestone
    | BuyerMove
    | Advance
    | Override
    | Close
)


@dataclass(frozen=True)
class Step:
    days_ago: int
    minute: int  # minutes past local midnight
    action: Action


# --- what will happen to a deal: chosen for the whole book at once ---------------------


@dataclass(frozen=True)
class Fate:
    outcome: str = OPEN
    reason: str = ""
    # How far the work of the deal's last stage got: "partial", or "full" (its key
    # node is met). On the first stage it is the evaluation: "none", "pass", "fail"
    # or "knockout".
    evidence: str = "partial"
    forced: tuple[str, str, str, str] | None = None  # stage, criterion, reason, manager
    override: tuple[str, str, str] | None = None  # grade, reason, manager
    band: str = ""  # the evaluation's likelihood wanted: "high", "medium" or "" (any pass)
    soe_trap: bool = False
    # The tender failed (流标) and the customer went back to rewrite its purchase criteria:
    # a buyer stage moved back, as the dashboard's progress shows it.
    setback: bool = False


@dataclass(frozen=True)
class Story:
    created_days_ago: int
    closed_days_ago: int | None  # won, lost or abandoned that many days ago
    steps: tuple[Step, ...]
