"""皇冠公司 (SPEC §6, §11): the challenger at a well-known apparel brand."""

from __future__ import annotations

from typing import Any

from kam.accounts import needs, revenue
from kam.accounts import services as account_services
from kam.competition import accounts as competition
from kam.competition import scoring
from kam.competition.competitors import competitor_get_or_create
from kam.core import clock
from kam.demo.cases.common import (
    CROWN_ACCOUNT,
    FICTION,
    CaseRecords,
    add_contact,
    add_milestone,
    add_stakeholder,
    at,
    eval_scores,
)
from kam.demo.market import CRITERIA
from kam.demo.timeline import Timeline
from kam.opportunities import process
from kam.opportunities import services as opportunity_services


def crown(users: dict[str, Any], t: Timeline) -> CaseRecords:
    """皇冠公司 (SPEC §6, §11): our garment-accessories unit challenges a long-time
    incumbent from 常州 at a well-known apparel brand."""
    rep = users["rep2"]
    year = t.today.year
    with clock.freeze(t.at(330, 14 * 60)):
        account = account_services.account_create(
            actor=rep,
            owner=rep,
            name=CROWN_ACCOUNT,
            industry="纺织服装",
            region="杭州",
            nature="private",
            size="very_large",
            account_type="value",
            annual_revenue="12000000000",
            collection_cycle_days=75,
            receivables="380000",
            credit_limit="2000000",
            value_positioning=4,
            notes=(
                "知名服装品牌,全国门店两千余家。我司服装辅料事业部(即案例中的「皇冠公司」)"
                f"{year - 1}年首次进入其供应商名录,拿下纽扣和拉链约8%的份额,"
                "全年成交约一百二十万元。\n"
                "在位供应商:常州恒泰服装辅料有限公司,供货十五年以上,份额约七成,"
                "与客户设计部有联合开发团队。\n"
                "我方的SWOT、竞争地图和竞争姿态见「竞争分析」。"
                f"{FICTION}"
            ),
        )
        president = add_contact(
            rep, account, "何志远", title="总裁", department="公司领导", layer="decision",
            joined_at=t.date(-3800), disc="D",
        )  # fmt: skip
        supply_vp = add_contact(
            rep, account, "沈国平", title="供应链副总裁", department="供应链中心",
            layer="decision", reports_to=president, joined_at=t.date(-1600), disc="C",
            notes="关注总成本和供应安全,愿意引入第二供应商。",
        )  # fmt: skip
        procurement = add_contact(
            rep, account, "许晓燕", title="采购总监", department="采购部", layer="management",
            reports_to=supply_vp, joined_at=t.date(-1200), disc="S",
            notes="去年推动我司入围;希望我方证明批量交付的稳定性。",
        )  # fmt: skip
        design = add_contact(
            rep, account, "蒋思远", title="设计总监", department="设计部", layer="management",
            reports_to=president, joined_at=t.date(-2700), disc="I",
            notes="与常州恒泰的联合开发团队合作多年,倾向在位供应商。",
        )  # fmt: skip
        finance = add_contact(
            rep, account, "潘丽", title="财务总监", department="财务部", layer="management",
            reports_to=president, joined_at=t.date(-2000), disc="C",
            notes="对常州恒泰要求预付款不满,关心付款条件和成本下降。",
        )  # fmt: skip
        add_contact(
            rep, account, "曹志勇", title="品控经理", department="品控部", layer="management",
            reports_to=supply_vp, joined_at=t.date(-900),
        )  # fmt: skip
        add_contact(
            rep, account, "冯佳怡", title="辅料采购经理", department="采购部",
            layer="operation", reports_to=procurement, joined_at=t.date(-600),
        )  # fmt: skip
        developer = add_contact(
            rep, account, "韩雪梅", title="面辅料开发经理", department="设计部",
            layer="operation", reports_to=design, joined_at=t.date(-1300),
        )  # fmt: skip

    season = f"{year}秋冬季" if t.today.month < 6 else f"{year + 1}春夏季"
    with at(t, 75, 14 * 60):
        main = opportunity_services.opportunity_create(
            actor=rep,
            account=account,
            owner=rep,
            name=f"{season}服装辅料(纽扣、拉链、织带)供货",
            amount="2800000",
            expected_close=t.date(75),
            playbook="standard-6",
            buyer_stage="search",
            description=(
                "挑战在位供应商常州恒泰。目标:纽扣、拉链份额从8%提升到25%。\n"
                "策略:以成本和交期切入;向财务总监强调我方月结60天、无预付款;"
                "邀请采购总监参观工厂;争取参与设计部新款联合打样,"
                "削弱恒泰联合开发团队的影响。"
            ),
        )
    with at(t, 73, 10 * 60):
        process.evaluation_record(
            actor=rep, opportunity=main, scores=eval_scores(4, 4, 4, 3, 4, 4, 5, 3, 4)
        )
    with at(t, 60, 15 * 60):
        process.opportunity_advance(actor=rep, opportunity=main)
    with at(t, 58, 10 * 60):
        add_stakeholder(
            rep, main, procurement, ["purchaser"], "champion", is_coach=True, influence=4,
            relationship=3, notes="去年推动我司入围,愿意继续帮我们。",
        )  # fmt: skip
        add_stakeholder(
            rep, main, supply_vp, ["decision_maker"], "supporter", influence=5, relationship=2
        )
        add_stakeholder(
            rep, main, design, ["technical"], "enemy", influence=4, relationship=1,
            notes="与常州恒泰联合开发多年,倾向在位供应商。",
        )  # fmt: skip
        add_stakeholder(rep, main, finance, ["finance"], "supporter", influence=3, relationship=2)
    with at(t, 50, 11 * 60):
        add_milestone(
            rep, main, t, 50, "candidate_confirmed", note="已是合格供应商,受邀参加本季辅料比选。"
        )
    with at(t, 45, 14 * 60):
        opportunity_services.opportunity_update(actor=rep, opportunity=main, buyer_stage="approval")
    with at(t, 20, 10 * 60):
        process.opportunity_advance(actor=rep, opportunity=main)
    with at(t, 9, 16 * 60 + 30):
        opportunity_services.opportunity_update(actor=rep, opportunity=main, buyer_stage="criteria")
    with at(t, 7, 11 * 60):
        process.criterion_add(
            actor=rep, opportunity=main, text="常规款交期不超过7天,急单不超过3天",
            shaped_by_us=True, favourable=True,
        )  # fmt: skip
        process.criterion_add(
            actor=rep, opportunity=main, text="新款辅料须与设计部联合打样",
            favourable=False,
        )  # fmt: skip

    with at(t, 30, 9 * 60 + 45):
        sample = opportunity_services.opportunity_create(
            actor=rep,
            account=account,
            owner=rep,
            name="新款金属扣件联合开发打样",
            amount="450000",
            expected_close=t.date(120),
            playbook="milestones-5",
            buyer_stage="need",
            description=(
                "设计部新款系列需要定制金属扣件。借打样与设计部建立联合开发关系,"
                "这是撬动在位供应商的关键一步。"
            ),
        )
    with at(t, 28, 16 * 60):
        process.evaluation_record(
            actor=rep, opportunity=sample, scores=eval_scores(3, 4, 4, 2, 4, 4, 4, 4, 4)
        )
    with at(t, 12, 11 * 60):
        opportunity_services.opportunity_update(actor=rep, opportunity=sample, buyer_stage="search")
        process.opportunity_advance(actor=rep, opportunity=sample)
    with at(t, 10, 15 * 60):
        add_stakeholder(rep, sample, developer, ["user"], "supporter", influence=3, relationship=2)
        add_stakeholder(rep, sample, design, ["technical"], "enemy", influence=4, relationship=1)
    _market(rep, account, main, t, finance=finance)
    return CaseRecords(accounts=[account], opportunities=[main, sample])


INCUMBENT = "常州恒泰服装辅料有限公司"


def _market(rep, account, main, t: Timeline, *, finance) -> None:
    """Where the challenger stands (SPEC §6): last year's first orders from the ERP,
    the competition map and the SWOT as the case tells them, what the brand needs,
    and the scoring table of this season's deal — where the incumbent still leads."""
    year = t.today.year
    with at(t, 40, 16 * 60):
        for i, days_ago in enumerate((320, 230, 140, 50)):
            _revenue(rep, account, t, i, days_ago)
        competition.competition_map_set(
            actor=rep,
            account=account,
            entries=[
                {
                    "competitor_name": INCUMBENT, "share": 70, "relationship": 4,
                    "satisfaction": 3, "incumbent": True, "since": year - 16,
                    "history": "供货十五年以上;与客户设计部有联合开发团队;要求预付30%货款。",
                },
                {
                    "us": True, "share": 8, "relationship": 2, "satisfaction": 4,
                    "since": year - 1, "history": "去年首次入围,供应纽扣和拉链。",
                },
                {
                    "competitor_name": "宁波华美服装辅料有限公司", "share": "12.5",
                    "relationship": 1, "satisfaction": 3, "since": year - 7,
                    "history": "以织带和标牌为主,价格低。",
                },
            ],
        )  # fmt: skip
        competition.swot_set(
            actor=rep,
            account=account,
            items={
                "strength": ["价格有竞争力", "交货快:常规款7天,急单3天"],
                "weakness": ["采购份额低(约8%)", "合作历史短,去年才入围"],
                "opportunity": [
                    "客户面临成本压力,需要降低辅料成本",
                    "客户对常州恒泰的付款条件(预付30%)多有抱怨",
                ],
                "threat": ["常州恒泰与客户设计部的联合开发团队"],
            },
        )
        competition.position_set(
            actor=rep,
            account=account,
            posture="attack",
            notes="挑战者:以成本和交期切入;向财务总监强调月结60天、无预付款;"
            "争取参与设计部新款联合打样。我方尚未建立任何进入壁垒。",
        )
        needs.needs_set(
            actor=rep,
            account=account,
            needs=[
                {"dimension": "采购成本", "importance": 5, "our_fit": 5},
                {"dimension": "交货期", "importance": 4, "our_fit": 5},
                {"dimension": "付款条件", "importance": 4, "our_fit": 5},
                {"dimension": "质量稳定性", "importance": 5, "our_fit": 4},
                {"dimension": "联合开发(设计配合)", "importance": 4, "our_fit": 2,
                 "note": "设计部与常州恒泰联合开发多年,我方尚未参与。"},
                {"dimension": "款式更新速度", "importance": 3, "our_fit": 3},
            ],
        )  # fmt: skip
    for days_ago, score, note in (
        (200, 3, "首批订单交付后回访:质量合格,包装需改进。"),
        (110, 4, "财务总监潘丽:月结60天对他们很有吸引力。"),
        (30, 4, "采购总监许晓燕:交期表现优于在位供应商。"),
    ):
        with at(t, days_ago, 11 * 60):
            needs.satisfaction_record_add(
                actor=rep, account=account, score=score, date=t.date(-days_ago), note=note,
                contact=finance if days_ago == 110 else None,
            )  # fmt: skip
    with at(t, 15, 16 * 60):
        incumbent = competitor_get_or_create(actor=rep, name=INCUMBENT)
        us = dict(zip(CRITERIA, (1, 3, 1, 2, 2, 4, 3, 4, 3, 4, 4, 4, 5), strict=True))
        them = dict(zip(CRITERIA, (5, 4, 5, 5, 4, 3, 4, 3, 4, 3, 4, 3, 3), strict=True))
        scoring.competition_set(actor=rep, opportunity=main, scores={"us": us, incumbent: them})


def _revenue(rep, account, t: Timeline, i: int, days_ago: int) -> None:
    """Last year's orders, imported from the ERP: about 1.2 million in four quarters."""
    revenue.revenue_record_add(
        actor=rep, account=account, date=t.date(-days_ago),
        amount=(250_000, 280_000, 310_000, 360_000)[i], profit=(35_000, 40_000, 46_000, 54_000)[i],
        source="ERP", note="纽扣、拉链", external_key=f"ERP-CROWN-{i + 1}",
    )  # fmt: skip
