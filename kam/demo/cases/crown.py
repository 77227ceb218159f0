"""皇冠公司 (SPEC §6, §11): the challenger at a well-known apparel brand."""

from __future__ import annotations

from typing import Any

from kam.accounts import services as account_services
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
            notes=(
                "知名服装品牌,全国门店两千余家。我司服装辅料事业部(即案例中的「皇冠公司」)"
                f"{year - 1}年首次进入其供应商名录,拿下纽扣和拉链约8%的份额,"
                "全年成交约一百二十万元。\n"
                "在位供应商:常州恒泰服装辅料有限公司,供货十五年以上,份额约七成,"
                "与客户设计部有联合开发团队。\n"
                "SWOT —— 优势:价格有竞争力,交货快(常规款7天)。劣势:份额低,合作历史短。"
                "机会:客户面临成本压力;客户对常州恒泰的付款条件(要求预付30%)多有抱怨。"
                "威胁:常州恒泰与客户设计部的联合开发团队。\n"
                f"竞争姿态:进攻(挑战者)。{FICTION}"
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
    return CaseRecords(accounts=[account], opportunities=[main, sample])
