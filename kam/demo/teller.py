"""Telling one demo deal's history (kam.demo.story): walk it from the playbook's
first stage to where it stands, producing for each stage the evidence its key node
asks for — read from the gate in the playbook, check type by check type, so the
story follows the playbook files instead of repeating them — and the customer's
own moves. A check type the demo cannot tell fails here, loudly, not at load time."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal
from typing import Any

from kam.demo import vocab
from kam.demo.steps import (
    ABANDONED,
    LOST,
    WON,
    Action,
    Advance,
    BuyerMove,
    Close,
    Create,
    Criterion,
    Evaluate,
    Milestone,
    Override,
    Person,
    Stance,
    Step,
    Story,
)
from kam.methodology.buying_centre import BuyingCentreModel
from kam.methodology.evaluation import score_evaluation
from kam.methodology.registry import MODELS_DIR, parse_file

PEOPLE_CHECKS = ("coach_identified", "stakeholder_role")
SUPPORTIVE = ("champion", "supporter")
# How a diligent team works the buying centre beyond what the gates ask (SPEC §4):
# the key persons of the customer's current step mapped, a second ally found, the
# decision maker won over from the proposal on. Each happens with this chance, so
# that most deals are well covered and some show the red flags.
CENTRE_CHANCE = {"key_role": 0.8, "second_ally": 0.75, "win_decider": 0.65}
MAPPED_STANCES = (
    ("supporter", 45),
    ("neutral", 30),
    ("unknown", 10),
    ("enemy", 10),
    ("blocker", 5),
)
SPARE = 1  # people left unmapped for the later gates (coach, decision maker)
SHIPPED_CENTRE = parse_file(MODELS_DIR / "buying_centre.toml", BuyingCentreModel)


def weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _clamp(value: float, low: int, high: int) -> int:
    return int(max(low, min(high, round(value))))


class Teller:
    """Tells one deal: `tell()` returns its Story. Each step is first recorded with
    its day and the order it was told in; `timed()` then sorts them by day, keeping
    that order within a day, and gives each a time of day."""

    def __init__(self, rng, deal, contacts, fate, book, buyer, evaluation):
        self.rng = rng
        self.deal = deal
        self.contacts = contacts
        self.fate = fate
        self.book = book
        self.buyer = buyer
        self.model = evaluation
        self.items: list[tuple[int, int, Action]] = []
        self.people: dict[int, Person] = {}
        self.used_texts: set[str] = set()
        self.scores: dict[str, int] | None = None
        # its own random stream, so the buying-centre work leaves the rest of the
        # story (stages, dates, outcomes) as it was
        self.centre_rng = random.Random(f"centre:{deal.name}:{deal.amount}")  # noqa: S311
        self.added: dict[int, int] = {}  # contact → the day (ago) they were mapped
        self.centre = SHIPPED_CENTRE

    # -- recording -----------------------------------------------------------------

    def put(self, day: int, action: Action) -> None:
        self.items.append((day, len(self.items), action))

    def day(self, lo: int, hi: int, early: bool = False) -> int:
        """A day in the window [lo, hi] days ago (early: in its first half)."""
        if early:
            return self.rng.randint(lo + (hi - lo) // 2, hi)
        return self.rng.randint(lo, hi)

    # -- the walk --------------------------------------------------------------------

    def tell(self) -> Story:
        """Date the stages backwards from the day the deal entered its current one
        (a healthy dwell in each), then walk them forwards: the evidence of each
        stage inside its window, the customer's move and our advance on the day we
        left it; last, where the current stage got to and how the deal ended."""
        rng, deal, fate, book = self.rng, self.deal, self.fate, self.book
        stages = book.stages
        last = book.stage_keys.index(deal.stage)
        entered = [0] * (last + 1)
        entered[last] = deal.stage_days_ago
        for i in range(last - 1, -1, -1):
            healthy = stages[i].healthy_dwell_days
            entered[i] = entered[i + 1] + rng.randint(
                max(3, healthy // 4), max(4, healthy * 4 // 5)
            )
        healthy = stages[last].healthy_dwell_days
        ends_here = fate.outcome in (LOST, ABANDONED) or (fate.outcome == WON and stages[last].wins)
        end = 1  # the last day of the story: yesterday for a deal still going
        if ends_here:
            end = max(1, entered[last] - rng.randint(1, max(2, healthy)))
        path = self.buyer_path(entered, last)
        self.put(entered[0], Create(buyer_stage=path[0]))
        forced_stage = fate.forced[0] if fate.forced else None
        for i in range(last + 1):
            stage = stages[i]
            hi = entered[i]
            lo = entered[i + 1] if i < last else end
            if i < last:
                skip = fate.forced[1] if stage.key == forced_stage else None
                self.work(i, lo, hi, full=True, skip=skip)
                if path[i + 1] != path[i]:
                    self.put(lo, BuyerMove(path[i + 1]))
                if skip is not None:
                    _, _, reason, manager = fate.forced
                    self.put(lo, Advance(force=True, by=manager, reason=reason))
                else:
                    self.put(lo, Advance())
            else:
                self.last_stage(i, lo, hi)
        if deal.earlier_buyer_stage is not None and deal.buyer_moved_days_ago is not None:
            self.put(max(end, deal.buyer_moved_days_ago), BuyerMove(deal.buyer_stage))
        if fate.setback:  # the tender failed a few weeks ago (its own random stream)
            again = random.Random(f"setback:{deal.name}:{deal.amount}")  # noqa: S311
            day = again.randint(2, min(30, deal.stage_days_ago - 1))
            self.put(day, BuyerMove(vocab.SETBACK_STAGE))
        if fate.outcome in (LOST, ABANDONED):
            self.put(end, Close(outcome=fate.outcome, reason=fate.reason))
        elif fate.outcome == WON and stages[last].wins:
            self.put(end, Advance())
        closed = end if ends_here else None
        if fate.outcome == WON and not ends_here and book.winning_stage is not None:
            closed = entered[book.stage_keys.index(book.winning_stage.key) + 1]
        return Story(created_days_ago=entered[0], closed_days_ago=closed, steps=self.timed())

    def buyer_path(self, entered: list[int], last: int) -> list[str]:
        """The customer's stage while we were in each of ours: it moves with us up to
        where the customer really is, and no further (a deal ahead of its buyer has
        the buyer stuck behind; one behind was overtaken in the last stage)."""
        keys = self.buyer.keys
        at = keys.index(self.deal.earlier_buyer_stage or self.deal.buyer_stage)
        path, current = [], 0
        for i in range(last + 1):
            mapped = self.book.stages[i].buyer_stages
            low = min(keys.index(b) for b in mapped) if mapped else len(keys) - 1
            current = max(current, min(low, at)) if i < last else max(current, at)
            path.append(keys[current])
        return path

    def last_stage(self, i: int, lo: int, hi: int) -> None:
        stage = self.book.stages[i]
        fate = self.fate
        winning = self.book.winning_stage
        if stage.wins:
            if fate.outcome == WON:
                self.work(i, lo, hi, full=True)
            return  # an open deal at the signing stage has not signed yet
        if winning is not None and i > self.book.stage_keys.index(winning.key):
            # after the contract: acceptance once the project had time to run, and the
            # project closed on it when this is the playbook's last stage
            if hi >= 45 and self.rng.random() < 0.55:
                done = len(self.items)
                self.work(i, 1, hi - 30, full=True)
                if i == len(self.book.stages) - 1:
                    met = [day for day, _, a in self.items[done:] if isinstance(a, Milestone)]
                    self.put(min(met), Advance())
            return
        if i == 0 and fate.evidence in ("none", "pass", "fail", "knockout"):
            if fate.evidence != "none":
                self.evaluate(self.day(lo, hi), fate.evidence)
            if self.centre_rng.random() < 0.5:  # the first people met around a new lead
                self.centre_work(i, lo, hi)
            return
        self.work(i, lo, hi, full=fate.evidence == "full")

    # -- the work of one stage -------------------------------------------------------

    def work(self, i: int, lo: int, hi: int, *, full: bool, skip: str | None = None) -> None:
        """Evidence for stage i's key node in the window; all of it when `full` (but
        for a criterion a manager forced past), else some."""
        stage = self.book.stages[i]
        people = any(c.check in PEOPLE_CHECKS for c in stage.gate)
        if i == 0 and self.rng.random() < 0.2:
            self.extra_person(self.day(lo, hi))
        key_people = []
        if stage.wins and full:
            hi = lo  # the contract is signed the day the deal is won
        for criterion in stage.gate:
            if criterion.key == skip:
                self.short(criterion, lo, hi)
            elif not (full or self.rng.random() < 0.4):
                self.some(criterion, lo, hi)
            elif criterion.check in PEOPLE_CHECKS:
                key_people.append(criterion)
            else:
                self.meet(criterion, lo, hi)
        if key_people:
            self.key_people(lo, hi, key_people)
        if (i > 0 and full) or self.centre_rng.random() < 0.5:
            self.centre_work(i, lo, hi)
        # someone else in the buying centre: mapped with the key people, or met later
        chance = (0.6 if full else 0.4) if people else (0.25 if i > 0 and self.people else 0)
        if self.rng.random() < chance:
            self.extra_person(self.day(lo, hi))
        if (
            full
            and i >= 2
            and self.scores is not None
            and not (self.fate.forced and self.fate.forced[1] == "evaluation_passed")
            and self.rng.random() < 0.15
        ):
            self.reevaluate(self.day(lo, hi))

    def meet(self, criterion, lo: int, hi: int) -> None:
        check, params = criterion.check, criterion.parsed
        if check == "evaluation_passed":
            if self.scores is None:
                day = self.day(lo, hi, early=True)
                self.evaluate(day, self.fate.band or "pass")
                if self.fate.override:
                    grade, reason, manager = self.fate.override
                    self.put(self.rng.randint(lo, day), Override(manager, grade, reason))
        elif check == "priority_assigned":
            pass  # graded by the evaluation (or overridden with it)
        elif check == "purchase_criteria":
            total = max(params.min, self.rng.randint(3, 4))
            shaped = params.shaped_by_us_min + (self.rng.random() < 0.3)
            self.criteria(lo, hi, total, shaped, params.favourable_min)
        elif check == "milestone":
            kind = params.kinds[0] if len(params.kinds) == 1 else self.rng.choice(params.kinds)
            self.milestone(self.day(lo, hi), kind, require=params.require)
        else:
            raise ValueError(
                f"The demo cannot yet tell evidence for the check type '{check}' "
                f"(criterion '{criterion.key}'); add it to kam/demo/teller.py."
            )

    def some(self, criterion, lo: int, hi: int) -> None:
        """Part of the evidence, or none: the work a stage is still doing."""
        check, params = criterion.check, criterion.parsed
        if check == "purchase_criteria" and self.rng.random() < 0.6:
            self.criteria(lo, hi, self.rng.randint(1, max(1, params.min - 1)), 0, 0)

    def short(self, criterion, lo: int, hi: int) -> None:
        """What was there when a manager forced the gate: not enough."""
        check, params = criterion.check, criterion.parsed
        if check == "evaluation_passed":
            self.evaluate(self.day(lo, hi, early=True), "fail")
        elif check == "purchase_criteria":
            self.criteria(lo, hi, max(params.min, 3), 0, 0)
        elif check == "milestone" and params.require:
            kind = params.kinds[0]
            self.milestone(
                self.day(lo, hi), kind, require=params.require[:-1], drop=params.require[-1]
            )

    # -- evaluation ------------------------------------------------------------------

    def evaluate(self, day: int, want: str) -> None:
        self.scores = self.draw_scores(want)
        self.put(day, Evaluate(tuple(self.scores.items())))

    def reevaluate(self, day: int) -> None:
        """Re-scored later: the relationship grew, the rivals are better known."""
        scores = dict(self.scores or {})
        if "relationship" in scores:
            scores["relationship"] = min(5, scores["relationship"] + 1)
        if "price" in scores:
            scores["price"] = max(2, scores["price"] - self.rng.randint(0, 1))
        if scores != self.scores and score_evaluation(self.model, scores).passed:
            self.scores = scores
            self.put(day, Evaluate(tuple(scores.items())))

    def draw_scores(self, want: str) -> dict[str, int]:
        model, rng = self.model, self.rng
        high = model.pass_mark + 15  # the "high likelihood" band of models/priority.toml
        centre = {
            "pass": (3.2, 4.5),
            "high": (4.0, 4.8),
            "medium": (3.1, 3.6),
            "fail": (2.0, 2.8),
            "knockout": (2.6, 3.4),
        }[want]
        for _ in range(500):
            mu = rng.uniform(*centre)
            scores = {key: _clamp(rng.gauss(mu, 0.8), 1, 5) for key in model.keys}
            for ko in model.knockouts:
                if want == "knockout" and ko is model.knockouts[0]:
                    scores[ko.factor] = ko.at_or_below
                elif scores[ko.factor] <= ko.at_or_below:
                    scores[ko.factor] = ko.at_or_below + 1
            result = score_evaluation(model, scores)
            fits = {
                "pass": result.passed,
                "high": result.passed and result.score >= high,
                "medium": result.passed and result.score < high,
                "fail": not result.passed and not result.knocked_out,
                "knockout": bool(result.knocked_out),
            }[want]
            if fits:
                return scores
        raise ValueError(f"no evaluation scores found for '{want}' under this model")

    # -- people ----------------------------------------------------------------------

    def pool(self, day: int, exclude=()) -> list[int]:
        """Contacts who could be mapped on `day`, not mapped yet: in post by then if
        we can (else anyone but a newcomer), and never one who left since — a contact
        who leaves would break the gates they met."""
        return self._pool(day, exclude) or self._pool(0, exclude)

    def _pool(self, day: int, exclude=()) -> list[int]:
        out = []
        for n, c in enumerate(self.contacts):
            if n in self.people or n in exclude or c.left_days_ago is not None:
                continue
            if c.joined_days_ago is not None and c.joined_days_ago < max(day, 30):
                continue
            out.append(n)
        return out

    def post(self, n: int) -> vocab.Post | None:
        return vocab.POST_BY_TITLE.get(self.contacts[n].title)

    def add(self, day: int, n: int, roles, stance: str, coach: bool = False, rng=None) -> None:
        layer = self.contacts[n].layer
        rng = rng or self.rng
        influence = {
            "decision": rng.randint(4, 5),
            "management": rng.randint(3, 4),
            "operation": rng.randint(1, 3),
        }.get(layer, 2)
        if "decision_maker" in roles:
            influence = 5
        relationship = rng.randint(3, 4) if coach else rng.randint(0, 3)
        person = Person(n, tuple(roles), stance, coach, influence, relationship)
        self.people[n] = person
        self.added[n] = day
        self.put(day, person)

    def key_people(self, lo: int, hi: int, criteria) -> None:
        """Map the people a gate asks for (decision maker, coach, other roles), planned
        together so that a small account's few people can cover them: when nobody
        else is left, one person takes two parts (the general manager who decides
        and coaches us)."""
        day = self.day(lo, hi, early=True)
        planned: dict[int, dict[str, Any]] = {}
        roles = [c.parsed for c in criteria if c.check == "stakeholder_role"]
        roles.sort(key=lambda p: p.role != "decision_maker")  # the decider first
        for params in roles:
            while self.holders(params.role, params.stances, planned) < params.min:
                n = self.pick_holder(day, params.role, planned)
                if n is not None:
                    planned[n] = {
                        "roles": self.roles_of(n, params.role),
                        "stance": self.stance(params.role, params.stances),
                        "coach": False,
                    }
                    continue
                n = next((k for k, v in planned.items() if params.role not in v["roles"]), None)
                if n is None:
                    raise ValueError(f"nobody left for the role {params.role} in {self.deal.name}")
                planned[n]["roles"].append(params.role)
                if params.stances:
                    planned[n]["stance"] = self.rng.choice(params.stances)
        for criterion in criteria:
            if criterion.check != "coach_identified":
                continue
            while self.coaches(planned) < criterion.parsed.min:
                n = self.pick_coach(day, planned)
                if n is not None:
                    planned[n] = {
                        "roles": self.roles_of(n, None),
                        "stance": weighted(self.rng, vocab.COACH_STANCES),
                        "coach": True,
                    }
                    continue
                n = next((k for k, v in planned.items() if not v["coach"]), None)
                if n is None:
                    # someone we mapped before becomes our coach
                    n = next((k for k, p in self.people.items() if not p.coach), None)
                    if n is None:
                        raise ValueError(f"nobody left to coach us in {self.deal.name}")
                    stance = weighted(self.rng, vocab.COACH_STANCES)
                    self.people[n] = replace(self.people[n], coach=True, stance=stance)
                    self.put(min(day, self.added[n]), Stance(n, stance, coach=True))
                    continue
                planned[n]["coach"] = True
                planned[n]["stance"] = weighted(self.rng, vocab.COACH_STANCES)
        for n, plan in planned.items():
            self.add(self.day(lo, day), n, plan["roles"], plan["stance"], coach=plan["coach"])

    def centre_work(self, i: int, lo: int, hi: int) -> None:
        """Beyond the gate: map the key persons of the customer's step, find a second
        ally, and win over a decision maker who is not for us yet (from the stage
        that meets the customer's purchase criteria on)."""
        rng, stage = self.centre_rng, self.book.stages[i]
        day = self.day_centre(lo, hi)
        keys = [r for b in stage.buyer_stages for r in self.centre.key_roles_at(b)]
        for role in dict.fromkeys(keys):
            if self.holders(role, None, {}) or rng.random() >= CENTRE_CHANCE["key_role"]:
                continue
            pool = [n for n in self.pool(day) if n != 0]
            if len(pool) <= SPARE:
                break
            fitting = [n for n in pool if (p := self.post(n)) is not None and role in p.roles]
            if fitting or pool:
                n = rng.choice(fitting or pool)
                self.add(day, n, self.roles_of(n, role), weighted(rng, MAPPED_STANCES), rng=rng)
        allies = [p for p in self.people.values() if p.stance in SUPPORTIVE and p.roles]
        if i > 0 and len(allies) < 2 and rng.random() < CENTRE_CHANCE["second_ally"]:
            others = [p for p in self.people.values() if p.stance in ("neutral", "unknown")]
            if others:
                self.restance(self.day_centre(lo, day), rng.choice(others).contact, "supporter")
            else:
                pool = [n for n in self.pool(day) if n != 0]
                if len(pool) > SPARE:
                    n = rng.choice(pool)
                    self.add(day, n, self.roles_of(n, None), "supporter", rng=rng)
        order = self.buyer.keys
        reaches = any(order.index(b) >= order.index("criteria") for b in stage.buyer_stages)
        deciders = [p for p in self.people.values() if "decision_maker" in p.roles]
        if (
            reaches
            and deciders
            and not any(p.stance in SUPPORTIVE for p in deciders)
            and rng.random() < CENTRE_CHANCE["win_decider"]
        ):
            self.restance(self.day_centre(lo, day), deciders[0].contact, "supporter")

    def day_centre(self, lo: int, hi: int) -> int:
        return self.centre_rng.randint(lo, hi)

    def restance(self, day: int, n: int, stance: str) -> None:
        """Not before they were mapped (a smaller number of days ago is later)."""
        self.people[n] = replace(self.people[n], stance=stance)
        self.put(min(day, self.added[n]), Stance(n, stance))

    def holders(self, role: str, stances, planned: dict[int, dict[str, Any]]) -> int:
        people = [(p.roles, p.stance) for p in self.people.values()]
        people += [(p["roles"], p["stance"]) for p in planned.values()]
        return sum(1 for r, s in people if role in r and (stances is None or s in stances))

    def coaches(self, planned: dict[int, dict[str, Any]]) -> int:
        return sum(p.coach for p in self.people.values()) + sum(
            p["coach"] for p in planned.values()
        )

    def stance(self, role: str, stances) -> str:
        if stances:
            return self.rng.choice(stances)
        if role == "decision_maker":
            return weighted(self.rng, vocab.DECISION_MAKER_STANCES)
        return weighted(self.rng, vocab.OTHER_STANCES)

    def roles_of(self, n: int, role: str | None) -> list[str]:
        """The roles contact n takes: `role` first, then their post's usual ones (the
        decision maker's part only when asked for), two at most."""
        post = self.post(n)
        usual = [r for r in (post.roles if post else ()) if r not in (role, "decision_maker")]
        roles = ([role] if role else []) + usual
        return roles[:2] or ["influencer"]

    def pick_holder(self, day: int, role: str, planned) -> int | None:
        if role == "decision_maker":
            return self.pick_decision_maker(day, planned)
        pool = [n for n in self.pool(day, planned) if n != 0]
        fitting = [n for n in pool if (p := self.post(n)) is not None and role in p.roles]
        return self.rng.choice(fitting or pool) if (fitting or pool) else None

    def pick_decision_maker(self, day: int, planned) -> int | None:
        """The general manager for a large purchase; a deputy may decide a smaller one."""
        deciders: list[int] = []
        for pool in (self._pool(day, planned), self._pool(0, planned)):
            deciders = [n for n in pool if (p := self.post(n)) is not None and p.decides]
            deciders = deciders or [n for n in pool if self.contacts[n].layer == "decision"]
            if deciders:
                break
        if not deciders:
            return None
        if self.deal.amount >= 1_000_000 and 0 in deciders:
            return 0
        return self.rng.choice(deciders)

    def pick_coach(self, day: int, planned) -> int | None:
        """Our insider: someone below the top who tells us what happens."""
        pool = [n for n in self.pool(day, planned) if n != 0]
        lower = [n for n in pool if self.contacts[n].layer != "decision"]
        return self.rng.choice(lower or pool) if pool else None

    def extra_person(self, day: int) -> None:
        """Someone else in the buying centre, wherever they stand."""
        pool = [n for n in self.pool(day) if n != 0]
        if not pool:
            return
        n = self.rng.choice(pool)
        post = self.post(n)
        roles = [r for r in (post.roles if post else ()) if r != "decision_maker"]
        self.add(day, n, roles or ["influencer"], weighted(self.rng, vocab.OTHER_STANCES))

    # -- criteria and milestones -------------------------------------------------------

    def text(self, words: tuple[str, ...]) -> str:
        fresh = [w for w in words if w not in self.used_texts]
        chosen = self.rng.choice(fresh or list(words))
        self.used_texts.add(chosen)
        return chosen

    def criteria(self, lo: int, hi: int, total: int, shaped: int, favourable: int) -> None:
        """`total` criteria, the first `shaped` of them shaped by us (and so in our
        favour), then `favourable` more in our favour, the rest as they come."""
        for n in range(total):
            if n < shaped:
                self.put(self.day(lo, hi), Criterion(self.text(vocab.SHAPED_CRITERIA), True, True))
                continue
            if n - shaped < favourable:
                value: bool | None = True
            else:
                value = {"yes": True, "open": None, "no": False}[
                    weighted(self.rng, (("yes", 30), ("open", 50), ("no", 20)))
                ]
            self.put(self.day(lo, hi), Criterion(self.text(vocab.CRITERIA), False, value))

    def milestone(self, day: int, kind: str, *, require=(), drop: str | None = None) -> None:
        rng = self.rng
        amount = Decimal(self.deal.amount)
        price = margin = None
        if kind in ("bid_submitted", "terms_agreed", "contract_signed") or "price" in require:
            # the bid is above what the contract is finally signed for
            factor = (
                Decimal(str(round(rng.uniform(1.02, 1.12), 3))) if kind == "bid_submitted" else 1
            )
            price = (amount * factor / 100).quantize(Decimal(1)) * 100
        if kind in ("bid_submitted", "terms_agreed") or "margin" in require:
            margin = Decimal(str(round(rng.uniform(12, 32), 1)))
        if drop == "price":
            price = None
        if drop == "margin":
            margin = None
        notes = vocab.MILESTONE_NOTES.get(kind, ("",))
        self.put(day, Milestone(kind, price, margin, rng.choice(notes)))

    # -- time of day -------------------------------------------------------------------

    def timed(self) -> tuple[Step, ...]:
        """Order by day, keep the told order within a day, and give each step a
        time of day: the creation at the plan's minute, the rest through office hours."""
        ordered = sorted(self.items, key=lambda item: (-item[0], item[1]))
        out: list[Step] = []
        day, minute = None, 0
        for days_ago, _, action in ordered:
            if days_ago != day:
                day = days_ago
                minute = (
                    self.deal.minute
                    if isinstance(action, Create)
                    else self.rng.randint(8 * 60 + 30, 11 * 60)
                )
            else:
                minute = min(23 * 60 + 50, minute + self.rng.randint(10, 50))
            out.append(Step(days_ago, minute, action))
        return tuple(out)
