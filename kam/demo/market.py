"""The market side of the synthetic demo (SPEC §6): what the team knows about each
customer beyond its deals — revenue history from the ERP, where we stand against
rivals, what the customer needs and how satisfied it is, its segmentation profile —
and the competitor scoring tables of the deals that reached the proposal.

Pure like `synthetic`: `plan_account` and `plan_table` draw from a random stream of
their own, seeded by the account's or deal's name, so adding this side changed
nothing in the book the other streams draw, and the same seed gives the same market
on any day. `kam.demo.loader` writes the plans through the services."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

# Rivals the team meets (fictional, like every company in the demo).
RIVALS = (
    "苏州精锐装备科技有限公司",
    "宁波华锐机械股份有限公司",
    "无锡恒力自动化设备有限公司",
    "上海博创工业材料有限公司",
    "施特劳斯机床(中国)有限公司",
    "丸山精机(上海)有限公司",
    "天津北辰重工装备有限公司",
    "广州粤海新材料科技有限公司",
)
SIZE_FACTOR = {"small": 0.4, "medium": 1.0, "large": 2.0, "very_large": 3.0}
NEEDS = (
    "产品质量稳定性",
    "交货期",
    "价格",
    "技术支持",
    "售后响应速度",
    "付款条件",
    "定制开发能力",
    "品牌与资质",
    "数字化服务",
)
MAP_HISTORY_US = ("我司自{year}年起供货,以{what}为主。", "{year}年通过招标入围,供应{what}。")
MAP_HISTORY_RIVAL = (
    "{year}年起供货,与客户技术部门关系紧密。",
    "价格较低,{year}年通过年度招标进入。",
    "客户老供应商,{year}年起合作,交期偶有延误。",
)
# Segments the sales director defined (kam/methodology/models/segmentation.toml):
# name, description, definition, scores 1–5 (5 = the attractive end).
SEGMENTS = (
    (
        "长三角汽车与轨交配套",
        "自动化程度高的汽车零部件和轨道交通装备企业,看重质量,是我司高端设备的主战场。",
        {
            "industry": ["汽车", "轨道交通"],
            "size": ["medium", "large", "very_large"],
            "technology": ["automated", "digital"],
        },
        {
            "market_size": 4, "growth": 4, "rivalry": 2, "new_entrants": 3, "substitutes": 4,
            "buyer_power": 2, "supplier_power": 4, "fit_goals": 5, "fit_resources": 4,
        },
    ),
    (
        "大型国企集中采购",
        "集中采购、招标为主的大型国有企业:单笔金额大,周期长,财务和高层话语权重。",
        {"size": ["large", "very_large"], "nature": ["soe"], "procurement": ["centralised"]},
        {
            "market_size": 5, "growth": 3, "rivalry": 3, "new_entrants": 4, "substitutes": 4,
            "buyer_power": 1, "supplier_power": 3, "fit_goals": 4, "fit_resources": 3,
        },
    ),
    (
        "价格导向的中小民企",
        "按价格比选的中小民营企业:量小、换供应商容易,适合标准品和渠道覆盖。",
        {"size": ["small", "medium"], "nature": ["private"], "buying_criteria": ["price"]},
        {
            "market_size": 2, "growth": 3, "rivalry": 1, "new_entrants": 2, "substitutes": 2,
            "buyer_power": 2, "supplier_power": 4, "fit_goals": 2, "fit_resources": 3,
        },
    ),
)  # fmt: skip

# The scoring table's criteria (kam/methodology/models/competition.toml).
CRITERIA = (
    "purchase_share",
    "profit",
    "cooperation_history",
    "relationship",
    "technical_barriers",
    "satisfaction",
    "brand",
    "production_scale",
    "technical_level",
    "financial_strength",
    "quality",
    "service",
    "price",
)


@dataclass(frozen=True)
class MapPlan:
    rival: str | None  # None: us
    share: int
    relationship: int
    satisfaction: int
    incumbent: bool
    since: int  # years ago
    history: str  # "{year}" stands for the year it started supplying


@dataclass(frozen=True)
class AccountMarket:
    revenue: tuple[tuple[int, Decimal, Decimal], ...]  # (days ago, amount, profit)
    value_positioning: int
    attributes: dict[str, str]
    needs: tuple[tuple[str, int, int], ...] = ()
    satisfaction: tuple[tuple[int, int], ...] = ()  # (days ago, score)
    competition_map: tuple[MapPlan, ...] = ()
    posture: str = ""
    barriers: tuple[str, ...] = ()
    rivals: tuple[str, ...] = field(default=())


def _clamp(value: int, low: int = 1, high: int = 5) -> int:
    return max(low, min(high, value))


def _attributes(rng: random.Random, *, size: str, nature: str, account_type: str) -> dict:
    big = size in ("large", "very_large")
    state = nature in ("soe", "public_institution")
    pick = rng.choice
    return {
        "technology": pick(
            ("automated", "digital", "automated") if big else ("manual", "mechanised", "automated")
        ),
        "user_status": pick(("heavy", "medium") if big else ("light", "medium", "non_user")),
        "service_needs": pick(
            ("many", "standard") if account_type != "transactional" else ("few", "standard")
        ),
        "procurement": "centralised" if (state or big) and rng.random() < 0.8 else "decentralised",
        "power_structure": pick(
            ("finance", "top_management", "purchasing")
            if state
            else ("technical", "production", "purchasing")
        ),
        "relationship": {
            "strategic": "strong",
            "value": pick(("some", "strong")),
            "transactional": pick(("none", "some")),
        }[account_type],
        "purchasing_policy": "tender" if state else pick(("contract", "system", "tender")),
        "buying_criteria": {
            "transactional": "price",
            "value": pick(("service", "quality")),
            "strategic": "quality",
        }[account_type],
        "urgency": pick(("planned", "planned", "urgent")),
        "order_size": pick(("large", "medium") if big else ("small", "medium")),
        "risk_attitude": pick(
            ("risk_averse", "neutral") if state else ("neutral", "risk_taking", "risk_averse")
        ),
        "loyalty": {
            "strategic": "high",
            "value": "medium",
            "transactional": pick(("low", "medium")),
        }[account_type],
    }


def plan_account(
    name: str,
    *,
    size: str,
    nature: str,
    account_type: str,
    products: tuple[str, ...],
) -> AccountMarket:
    rng = random.Random(f"market:{name}")  # noqa: S311 -- demo data, reproducible on purpose
    revenue: list[tuple[int, Decimal, Decimal]] = []
    # Most customers bought from us before KAM: eight quarters from the ERP, a
    # heavy-tailed yearly volume (a Pareto law: with the cases, the top fifth of the
    # accounts brings about 80% of the revenue).
    if rng.random() < 0.85:
        yearly = min(rng.paretovariate(1.05) * 400_000 * SIZE_FACTOR[size], 25_000_000)
        for quarter in range(8):
            amount = round(yearly / 4 * rng.uniform(0.6, 1.4), -3)
            margin = rng.uniform(0.10, 0.30)
            revenue.append(
                (45 + 91 * quarter, Decimal(amount), Decimal(round(amount * margin, -2)))
            )
    positioning = {"transactional": (2, 3), "value": (3, 4), "strategic": (4, 5)}[account_type]
    market = AccountMarket(
        revenue=tuple(revenue),
        value_positioning=rng.randint(*positioning),
        attributes=_attributes(rng, size=size, nature=nature, account_type=account_type),
    )
    needs: tuple[tuple[str, int, int], ...] = ()
    if rng.random() < 0.6:
        dims = rng.sample(NEEDS, rng.randint(5, 7))
        needs = tuple((d, rng.randint(2, 5), rng.randint(2, 5)) for d in dims)
    satisfaction: tuple[tuple[int, int], ...] = ()
    if revenue and rng.random() < 0.6:
        score, points = rng.randint(3, 4), []
        for quarter in range(rng.randint(3, 5), 0, -1):
            points.append((20 + 91 * (quarter - 1) + rng.randint(0, 20), score))
            score = _clamp(score + rng.choice((-1, 0, 0, 1)), 2, 5)
        satisfaction = tuple(points)
    entries: list[MapPlan] = []
    rivals: tuple[str, ...] = tuple(rng.sample(RIVALS, rng.randint(1, 2)))
    posture, barriers = "", ()
    if rng.random() < 0.6:
        ours = rng.choice((10, 15, 20, 30, 40, 55, 65)) if revenue else 0
        left = 100 - ours - rng.choice((0, 5, 10))
        shares = [left] if len(rivals) == 1 else [round(left * 0.65), left - round(left * 0.65)]
        leader = max([ours, *shares])
        year_us = rng.randint(1, 12)
        what = products[0] if products else "设备"
        if revenue or ours:
            history = rng.choice(MAP_HISTORY_US).replace("{what}", what)
            entries.append(
                MapPlan(
                    None,
                    ours,
                    rng.randint(2, 4),
                    rng.randint(3, 5),
                    ours == leader,
                    year_us,
                    history,
                )
            )
        for rival, share in zip(rivals, shares, strict=True):
            since = rng.randint(2, 15)
            entries.append(
                MapPlan(
                    rival,
                    share,
                    rng.randint(1, 4),
                    rng.randint(2, 5),
                    share == leader and ours != leader,
                    since,
                    rng.choice(MAP_HISTORY_RIVAL),
                )
            )
        posture = "defend" if ours == leader else "attack"
        held = [b for b in ("technical", "commercial", "process") if rng.random() < 0.35]
        barriers = tuple(held) if ours else ()
    return AccountMarket(
        revenue=market.revenue,
        value_positioning=market.value_positioning,
        attributes=market.attributes,
        needs=needs,
        satisfaction=satisfaction,
        competition_map=tuple(entries),
        posture=posture,
        barriers=barriers,
        rivals=rivals,
    )


def plan_table(deal_name: str, amount: Decimal, rivals: tuple[str, ...]) -> dict | None:
    """The scoring table of a deal past entry, for about half of them: us and one or
    two rivals, the rival ahead overall on about a quarter of the tables."""
    rng = random.Random(f"table:{deal_name}:{amount}")  # noqa: S311
    if rng.random() < 0.5:
        return None
    us = {c: rng.randint(2, 5) for c in CRITERIA}
    table: dict[str | None, dict[str, int]] = {None: us}
    stronger = rng.random() < 0.25
    for rival in rivals[: rng.randint(1, 2)]:
        shift = 1 if stronger else rng.choice((-1, 0))
        table[rival] = {c: _clamp(s + shift + rng.choice((-1, 0, 0, 1))) for c, s in us.items()}
        stronger = False  # only the first rival is drawn ahead
    return table
