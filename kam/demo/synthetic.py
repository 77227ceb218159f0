"""The seeded generator of the synthetic part of the demo. Pure: no database, no
wall clock. It returns a plan in relative time (days ago, days from today) that the
loader writes through the services, so the same seed always gives the same names,
amounts, stages and dwell times, whatever the day it is loaded on."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, replace
from decimal import Decimal

from kam.demo import story, vocab
from kam.demo.steps import OPEN, Step
from kam.methodology.evaluation import EvaluationModel
from kam.methodology.schema import BuyerProcess, Playbook

SEED = 2026
ACCOUNT_COUNT = 40
OPPORTUNITY_COUNT = 150
MIN_AMOUNT = 50_000
MAX_AMOUNT = 20_000_000

# Share of deals on each playbook and, within one, the funnel shape by stage
# position (more deals early than late).
PLAYBOOK_SHARES = {"standard-6": 0.8, "milestones-5": 0.2}
FUNNEL_WEIGHTS = {
    "standard-6": (22, 22, 20, 15, 11, 10),
    "milestones-5": (25, 25, 22, 15, 13),
}
# Who owns the accounts (40 in all) and, for a manager's account, who may run its deals.
ACCOUNT_OWNERS = (("rep1", 11), ("rep2", 10), ("rep3", 9), ("manager", 6), ("manager2", 4))
TEAM_REPS = {"manager": ("rep1", "rep2"), "manager2": ("rep3",)}
MANAGER_OF = {
    **{m: m for m in TEAM_REPS},
    **{rep: m for m, reps in TEAM_REPS.items() for rep in reps},
}
AREA_WEIGHTS = (("华东", 45), ("华南", 20), ("华北", 20), ("西南", 15))

NATURE_LABELS = {
    "soe": "国有",
    "private": "民营",
    "foreign": "外资",
    "jv": "合资",
    "public_institution": "事业单位性质的",
}
SIZES_BY_NATURE = {
    "soe": ("large", "very_large", "large"),
    "private": ("small", "medium", "medium", "large"),
    "foreign": ("medium", "large"),
    "jv": ("medium", "large"),
    "public_institution": ("small", "medium"),
}
REVENUE_RANGE = {  # the customer's own annual revenue, CNY
    "small": (80_000_000, 300_000_000),
    "medium": (300_000_000, 1_500_000_000),
    "large": (1_500_000_000, 8_000_000_000),
    "very_large": (8_000_000_000, 60_000_000_000),
}
CREDIT_RANGE = {
    "small": (500_000, 2_000_000),
    "medium": (1_000_000, 5_000_000),
    "large": (3_000_000, 12_000_000),
    "very_large": (8_000_000, 30_000_000),
}
COLLECTION_RANGE = {
    "soe": (90, 180),
    "public_institution": (60, 150),
    "private": (45, 120),
    "jv": (45, 90),
    "foreign": (30, 60),
}
ACCOUNT_TYPES = (("transactional", 40), ("value", 40), ("strategic", 20))
TYPE_NOTES = {
    "transactional": "按价格和交期比选,以标准品为主,关系较为事务化。",
    "value": "看重方案匹配和性价比,需要技术顾问式的服务。",
    "strategic": "与我司有联合开发和长期规划,高层互访频繁。",
}


@dataclass(frozen=True)
class ContactPlan:
    name: str
    title: str
    department: str
    layer: str
    reports_to: int | None  # index of an earlier contact of the same account
    disc: str
    joined_days_ago: int | None
    left_days_ago: int | None  # marked left through contact_update at that time
    notes: str


@dataclass(frozen=True)
class OpportunityPlan:
    name: str
    owner: str  # username
    amount: Decimal
    playbook: str
    stage: str
    stage_days_ago: int  # entered its current stage then
    minute: int  # time of day it was recorded in KAM
    buyer_stage: str
    earlier_buyer_stage: str | None  # the buyer stage when we entered ours, if it moved since
    buyer_moved_days_ago: int | None
    close_in_days: int  # expected close, from today (negative: overdue or signed)
    description: str
    # How it got there (kam.demo.story): recorded at the first stage this many days
    # ago, then walked forward through the key nodes; its status today.
    status: str = OPEN
    created_days_ago: int = 0
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class AccountPlan:
    name: str
    owner: str
    industry: str
    region: str
    nature: str
    size: str
    account_type: str
    annual_revenue: Decimal
    collection_cycle_days: int
    receivables: Decimal
    credit_limit: Decimal
    notes: str
    created_days_ago: int
    contacts: tuple[ContactPlan, ...]
    opportunities: tuple[OpportunityPlan, ...]


def allocate(total: int, weights: tuple[int, ...] | list[float]) -> list[int]:
    """Split `total` by `weights` (largest remainder), at least one each."""
    share = sum(weights)
    raw = [total * w / share for w in weights]
    counts = [max(1, math.floor(r)) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    i = 0
    while sum(counts) < total:
        counts[order[i % len(order)]] += 1
        i += 1
    while sum(counts) > total:
        j = max(range(len(counts)), key=lambda k: (counts[k], -k))
        counts[j] -= 1
    return counts


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _round_sig(value: float, digits: int) -> int:
    if value <= 0:
        return 0
    magnitude = 10 ** (int(math.floor(math.log10(value))) - digits + 1)
    return int(round(value / magnitude) * magnitude)


def _amount(rng: random.Random) -> Decimal:
    """A deal size: log-normal around ~900k CNY, so many small deals and a few
    very large ones, clipped to 50k–20M."""
    raw = math.exp(rng.gauss(math.log(900_000), 1.15))
    clipped = min(MAX_AMOUNT, max(MIN_AMOUNT, raw))
    return Decimal(min(MAX_AMOUNT, max(MIN_AMOUNT, _round_sig(clipped, 3))))


def _person_name(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = rng.choice(vocab.SURNAMES) + rng.choice(vocab.GIVEN_NAMES)
        if name not in taken:
            taken.add(name)
            return name


def _contacts(rng: random.Random) -> tuple[ContactPlan, ...]:
    """3–8 people on the usual posts; each reports to the nearest filled post above."""
    posts = {p.key: p for p in vocab.POSTS}
    count = rng.randint(3, 8)
    chosen = {"gm", *rng.sample([p.key for p in vocab.POSTS[1:]], count - 1)}
    ordered = [p for p in vocab.POSTS if p.key in chosen]  # parents before children
    index = {p.key: i for i, p in enumerate(ordered)}
    newcomer = rng.randrange(1, len(ordered)) if rng.random() < 0.12 else None
    names: set[str] = set()
    out = []
    for i, post in enumerate(ordered):
        boss = post.parent
        while boss is not None and boss not in index:
            boss = posts[boss].parent
        disc = rng.choice("DISC") if rng.random() < 0.45 else ""
        joined = rng.randint(200, 3650) if rng.random() < 0.55 else None
        notes = vocab.DISC_NOTES.get(disc, "")
        left = None
        if i == newcomer:
            joined = rng.randint(8, 25)
            notes = ("近期到任,前任已调离;尚未建立关系。" + notes).strip()
        elif i > 0 and rng.random() < 0.05:
            left = rng.randint(5, 150)
            joined = joined if joined is not None else rng.randint(400, 3000)
            notes = ("已离职。" + notes).strip()
        out.append(
            ContactPlan(
                name=_person_name(rng, names),
                title=post.title,
                department=post.department,
                layer=post.layer,
                reports_to=index[boss] if boss is not None else None,
                disc=disc,
                joined_days_ago=joined,
                left_days_ago=left,
                notes=notes,
            )
        )
    return tuple(out)


def _account_name(
    rng: random.Random, *, brand: str, city: str, industry: vocab.Industry, nature: str, size: str
) -> str:
    word = rng.choice(industry.words)
    if nature == "soe":
        return f"{city}{brand}{word}集团有限公司"
    if nature == "foreign":
        return f"{rng.choice(vocab.FOREIGN_BRANDS)}({city}){word}有限公司"
    if nature == "jv":
        return f"{city}{brand}{rng.choice(vocab.FOREIGN_BRANDS)}{word}有限公司"
    if nature == "public_institution":
        return f"{city}{brand}{word}"
    legal = "股份有限公司" if size in ("large", "very_large") else "有限公司"
    return f"{city}{brand}{word}{legal}"


def _stage_slots(rng: random.Random, playbooks: dict[str, Playbook]) -> list[tuple[str, str]]:
    """(playbook, stage) for every synthetic deal: every stage of every playbook
    occurs, in funnel proportions, in a seeded order."""
    keys = list(PLAYBOOK_SHARES)
    per_book = allocate(OPPORTUNITY_COUNT, [PLAYBOOK_SHARES[k] for k in keys])
    slots: list[tuple[str, str]] = []
    for key, n in zip(keys, per_book, strict=True):
        stages = playbooks[key].stage_keys
        for stage, m in zip(stages, allocate(n, FUNNEL_WEIGHTS[key]), strict=True):
            slots.extend([(key, stage)] * m)
    rng.shuffle(slots)
    return slots


def _buyer_stage(
    rng: random.Random, book: Playbook, stage_key: str, buyer: BuyerProcess
) -> tuple[str, int]:
    """The customer's stage: mostly one the seller stage maps to; about one deal in
    ten the buyer is further (we are late), about one in twelve behind us (ahead of
    the buyer — e.g. negotiating before the budget is approved)."""
    keys = buyer.keys
    mapped = [buyer.index(k) for k in book.stage(stage_key).buyer_stages]
    if not mapped:  # after the contract: the buyer's process is over
        return keys[-1], len(keys) - 1
    roll = rng.random()
    if roll < 0.10 and max(mapped) < len(keys) - 1:
        i = min(len(keys) - 1, max(mapped) + rng.randint(1, 2))
    elif roll < 0.18 and min(mapped) > 0:
        i = max(0, min(mapped) - rng.randint(1, 2))
    else:
        i = rng.choice(mapped)
    return keys[i], i


def _opportunity(
    rng: random.Random,
    *,
    today: dt.date,
    owner: str,
    name: str,
    book: Playbook,
    stage_key: str,
    buyer: BuyerProcess,
) -> OpportunityPlan:
    stage = book.stage(stage_key)
    position = book.stage_keys.index(stage_key) / (len(book.stages) - 1)
    healthy = stage.healthy_dwell_days
    if rng.random() < 0.7:
        days = rng.randint(1, healthy)
    else:  # over the healthy dwell time: these show as stalled
        days = rng.randint(healthy + 1, int(healthy * 2.5))
    buyer_key, buyer_index = _buyer_stage(rng, book, stage_key, buyer)
    earlier = moved = None
    if buyer_index > 0 and days >= 3 and rng.random() < 0.45:
        earlier = buyer.keys[buyer_index - 1]
        moved = rng.randint(1, days - 1)
    if stage.base_probability >= 1:  # after the contract: closed when it got here
        close = -days
    elif rng.random() < 0.07:
        close = -rng.randint(3, 40)  # overdue
    else:
        close = rng.randint(int(15 + (1 - position) * 90), int(60 + (1 - position) * 300))
    phase = (
        "after"
        if stage.base_probability >= 1
        else "late"
        if stage.base_probability >= 0.7
        else "middle"
        if stage.base_probability >= 0.3
        else "early"
    )
    closes = today + dt.timedelta(days=close)
    description = rng.choice(vocab.DESCRIPTIONS[phase]).format(year=closes.year)
    supply_year = closes.year + (closes.month >= 10)  # annual deals name the year supplied
    if name.startswith("年度"):
        name = f"{supply_year}{name}"
    elif "年度" in name:
        name = f"{supply_year}年{name}"
    return OpportunityPlan(
        name=name,
        owner=owner,
        amount=_amount(rng),
        playbook=book.key,
        stage=stage_key,
        stage_days_ago=days,
        minute=rng.randint(8 * 60 + 30, 18 * 60),
        buyer_stage=buyer_key,
        earlier_buyer_stage=earlier,
        buyer_moved_days_ago=moved,
        close_in_days=close,
        description=description,
    )


def _deal_counts(rng: random.Random) -> list[int]:
    counts = [rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5, 6, 7, 8)) for _ in range(ACCOUNT_COUNT)]
    while sum(counts) > OPPORTUNITY_COUNT:
        i = rng.randrange(ACCOUNT_COUNT)
        if counts[i] > 1:
            counts[i] -= 1
    while sum(counts) < OPPORTUNITY_COUNT:
        i = rng.randrange(ACCOUNT_COUNT)
        if counts[i] < 8:
            counts[i] += 1
    return counts


def build_plan(
    *,
    today: dt.date,
    playbooks: dict[str, Playbook],
    buyer: BuyerProcess,
    evaluation: EvaluationModel,
    reserved_names: tuple[str, ...] = (),
    seed: int = SEED,
) -> tuple[AccountPlan, ...]:
    """The synthetic accounts with their contacts and deals, each deal with the story
    of how it got to its stage. `today` only dates the text ("2027年度…",
    "客户计划2027年实施"); no random draw depends on it, so accounts, amounts, stages,
    dwell times and stories are the same on any day.

    Two random streams: the first draws the book (accounts, people, deals, where each
    deal stands), the second its history, so tuning the stories leaves the book as it
    is."""
    rng = random.Random(seed)  # noqa: S311 -- demo data, reproducible on purpose
    owners = [name for name, n in ACCOUNT_OWNERS for _ in range(n)]
    rng.shuffle(owners)
    industries = list(vocab.INDUSTRIES) * math.ceil(ACCOUNT_COUNT / len(vocab.INDUSTRIES))
    rng.shuffle(industries)
    brands = rng.sample(vocab.BRANDS, ACCOUNT_COUNT)
    slots = iter(_stage_slots(rng, playbooks))
    deal_counts = _deal_counts(rng)
    taken = set(reserved_names)
    accounts = []
    for i in range(ACCOUNT_COUNT):
        industry = industries[i]
        area = _weighted(rng, AREA_WEIGHTS)
        city = rng.choice(vocab.CITIES[area])
        nature = rng.choice(industry.natures)
        size = rng.choice(SIZES_BY_NATURE[nature])
        name = _account_name(
            rng, brand=brands[i], city=city, industry=industry, nature=nature, size=size
        )
        while name in taken:  # a foreign brand repeated in one city: try another
            name = _account_name(
                rng, brand=brands[i], city=city, industry=industry, nature=nature, size=size
            )
        taken.add(name)
        owner = owners[i]
        products = rng.sample(industry.products, min(len(industry.products), deal_counts[i]))
        deals = []
        for n in range(deal_counts[i]):
            product = products[n % len(products)]
            phase = n // len(products)
            label = f"{product}({'二三四五'[phase - 1]}期)" if phase else product
            deal_owner = owner
            if owner in TEAM_REPS and rng.random() < 0.5:
                deal_owner = rng.choice(TEAM_REPS[owner])
            playbook_key, stage_key = next(slots)
            deals.append(
                _opportunity(
                    rng,
                    today=today,
                    owner=deal_owner,
                    name=label,
                    book=playbooks[playbook_key],
                    stage_key=stage_key,
                    buyer=buyer,
                )
            )
        contacts = _contacts(rng)
        lo, hi = REVENUE_RANGE[size]
        credit_lo, credit_hi = CREDIT_RANGE[size]
        cycle_lo, cycle_hi = COLLECTION_RANGE[nature]
        account_type = _weighted(rng, ACCOUNT_TYPES)
        notes = (
            f"{NATURE_LABELS[nature]}{industry.name}企业,位于{city}({area})。"
            f"主要向我司采购:{'、'.join(products[:3])}等。{TYPE_NOTES[account_type]}"
        )
        accounts.append(
            AccountPlan(
                name=name,
                owner=owner,
                industry=industry.name,
                region=city,
                nature=nature,
                size=size,
                account_type=account_type,
                annual_revenue=Decimal(_round_sig(rng.uniform(lo, hi), 2)),
                collection_cycle_days=rng.randint(cycle_lo // 15, cycle_hi // 15) * 15,
                receivables=Decimal(rng.randint(0, 60) * 50_000),
                credit_limit=Decimal(rng.randint(credit_lo // 500_000, credit_hi // 500_000))
                * 500_000,
                notes=notes,
                created_days_ago=rng.randint(10, 120),  # before its oldest record: below
                contacts=contacts,
                opportunities=tuple(deals),
            )
        )
    return _tell_stories(
        accounts,
        rng=random.Random(f"{seed}:process"),  # noqa: S311
        playbooks=playbooks,
        buyer=buyer,
        evaluation=evaluation,
    )


def _tell_stories(
    accounts: list[AccountPlan],
    *,
    rng: random.Random,
    playbooks: dict[str, Playbook],
    buyer: BuyerProcess,
    evaluation: EvaluationModel,
) -> tuple[AccountPlan, ...]:
    """Give every deal its fate and history (kam.demo.story), and date each account
    before the oldest thing recorded about it."""
    deals = [d for a in accounts for d in a.opportunities]
    natures = [a.nature for a in accounts for _ in a.opportunities]
    fates = iter(
        story.assign_fates(rng, deals, natures=natures, playbooks=playbooks, managers=MANAGER_OF)
    )
    out = []
    for account in accounts:
        told = []
        for deal in account.opportunities:
            fate = next(fates)
            deal = story.prepare(deal, fate, buyer)
            history = story.tell(
                rng,
                deal=deal,
                contacts=account.contacts,
                fate=fate,
                book=playbooks[deal.playbook],
                buyer=buyer,
                evaluation=evaluation,
            )
            told.append(story.finish(deal, history, fate))
        oldest = max(
            [d.created_days_ago for d in told] + [c.left_days_ago or 0 for c in account.contacts]
        )
        out.append(
            replace(
                account,
                created_days_ago=oldest + account.created_days_ago,
                opportunities=tuple(told),
            )
        )
    return tuple(out)
