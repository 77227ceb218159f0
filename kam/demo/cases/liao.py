"""廖总的失之交臂 (SPEC §5, §11): lost despite the lowest price."""

from __future__ import annotations

from typing import Any

from kam.accounts import needs, revenue
from kam.accounts import services as account_services
from kam.competition import accounts as competition
from kam.competition import scoring
from kam.competition.competitors import competitor_get_or_create
from kam.contacts import services as contact_services
from kam.core import clock
from kam.demo.cases.common import (
    FICTION,
    LIAO_ACCOUNT,
    LIAO_DESIGN_HEAD,
    LIAO_NEW_GM,
    LIAO_VP,
    CaseRecords,
    add_contact,
    add_milestone,
    add_stakeholder,
    at,
    eval_scores,
)
from kam.demo.market import CRITERIA
from kam.demo.timeline import Timeline
from kam.intel import services as intel_services
from kam.opportunities import process
from kam.opportunities import services as opportunity_services


def liao(users: dict[str, Any], t: Timeline) -> CaseRecords:
    """廖总的失之交臂 (SPEC §5, §11): our raw-materials business, its largest customer,
    the friend who promised the order, the new managing director who moved him, and
    the design head we never met who now runs the tender."""
    rep = users["rep1"]
    with clock.freeze(t.at(420, 9 * 60 + 20)):
        account = account_services.account_create(
            actor=rep,
            owner=rep,
            name=LIAO_ACCOUNT,
            industry="精密制造",
            region="上海",
            nature="private",
            size="large",
            account_type="strategic",
            annual_revenue="6800000000",
            collection_cycle_days=90,
            receivables="4200000",
            credit_limit="10000000",
            value_positioning=4,
            notes=(
                "上交所主板上市的民营精密制造企业,我司(廖总的原材料公司)最大的客户,合作十余年,"
                "主要供应特种合金棒材和铝合金型材,年采购额约三千万元。历年原材料招标由"
                f"副总裁刘建华主持,我方中标率高。{FICTION}"
            ),
        )
        chair = add_contact(
            rep, account, "孙振华", title="董事长", department="公司领导", layer="decision",
            disc="D", joined_at=t.date(-4300),
        )  # fmt: skip
        old_gm = add_contact(
            rep, account, "周海涛", title="总经理", department="公司领导", layer="decision",
            reports_to=chair, joined_at=t.date(-2900), disc="S",
        )  # fmt: skip
        vp = add_contact(
            rep, account, LIAO_VP, title="副总裁(分管采购与供应链)", department="公司领导",
            layer="decision", reports_to=old_gm, joined_at=t.date(-3300), disc="I",
            notes="廖总多年的好友,历年原材料招标均由他主持,对我司一直支持。",
        )  # fmt: skip
        cto = add_contact(
            rep, account, "吴志明", title="技术副总裁", department="公司领导", layer="decision",
            reports_to=old_gm, joined_at=t.date(-2100), disc="C",
        )  # fmt: skip
        design = add_contact(
            rep, account, LIAO_DESIGN_HEAD, title="设计部部长", department="设计部",
            layer="management", reports_to=cto, joined_at=t.date(-1500), disc="C",
            notes="负责产品设计与材料选型。我司从未拜访过。",
        )  # fmt: skip
        purchasing = add_contact(
            rep, account, "钱卫东", title="采购部经理", department="采购部", layer="management",
            reports_to=vp, joined_at=t.date(-1800), disc="S",
            notes="刘总的老部下,执行刘总的安排。",
        )  # fmt: skip
        finance = add_contact(
            rep, account, "郑丽", title="财务总监", department="财务部", layer="management",
            reports_to=old_gm, joined_at=t.date(-2500),
        )  # fmt: skip
        add_contact(
            rep, account, "马晓东", title="质量部经理", department="质量部",
            layer="management", reports_to=cto, joined_at=t.date(-900),
        )  # fmt: skip
        add_contact(
            rep, account, "陈静", title="采购专员", department="采购部", layer="operation",
            reports_to=purchasing, joined_at=t.date(-700),
        )  # fmt: skip
        add_contact(
            rep, account, "林涛", title="主管设计师", department="设计部", layer="operation",
            reports_to=design, joined_at=t.date(-1100), disc="C",
        )  # fmt: skip

    year = t.today.year + 1
    with at(t, 90, 15 * 60):
        opp = opportunity_services.opportunity_create(
            actor=rep,
            account=account,
            owner=rep,
            name=f"{year}年度特种合金原材料年度招标",
            amount="8600000",
            expected_close=t.date(40),
            playbook="standard-6",
            buyer_stage="search",
            description=(
                f"{t.label(90)} 刘建华副总裁透露:新一年度原材料年度招标即将启动,"
                "预算已列入公司计划,招标仍由他主持。"
            ),
        )
    with at(t, 89, 10 * 60):
        process.evaluation_record(
            actor=rep, opportunity=opp, scores=eval_scores(5, 5, 5, 5, 4, 4, 5, 4, 4)
        )
    with at(t, 84, 10 * 60 + 30):
        opportunity_services.opportunity_update(actor=rep, opportunity=opp, buyer_stage="approval")
        process.opportunity_advance(actor=rep, opportunity=opp)
    with at(t, 82, 14 * 60):
        add_stakeholder(
            rep, opp, vp, ["decision_maker"], "champion", is_coach=True, influence=5,
            relationship=4, notes="廖总多年的好友;采购小组组长,主持本次招标。",
        )  # fmt: skip
        add_stakeholder(
            rep, opp, purchasing, ["purchaser"], "supporter", influence=3, relationship=3,
            notes="刘总的老部下,执行刘总的安排。",
        )  # fmt: skip
    with at(t, 80, 11 * 60):
        add_milestone(rep, opp, t, 80, "candidate_confirmed", note="十余年合格供应商,直接入围。")
    with at(t, 72, 16 * 60):
        process.opportunity_advance(actor=rep, opportunity=opp)
    with at(t, 56, 15 * 60):
        opportunity_services.opportunity_update(
            actor=rep,
            opportunity=opp,
            description=(
                f"{t.label(56)} 刘建华副总裁告诉廖总:新一年度的原材料业务继续给我们,"
                "招标由他来主持。采购小组已组建,我方正在准备技术方案。"
            ),
        )
    with at(t, 56, 15 * 60 + 30):
        # One friend's word, never checked with anyone else: the alert intel_unverified.
        intel_services.intel_add(
            actor=rep,
            opportunity=opp,
            text="刘建华副总裁承诺:新一年度原材料订单继续给我司,招标由他主持。",
            sources=[vp],
            critical=True,
        )
    with at(t, 50, 10 * 60 + 30):
        opportunity_services.opportunity_update(actor=rep, opportunity=opp, buyer_stage="criteria")
        contact_services.contact_update(
            actor=rep,
            contact=vp,
            notes=(
                "廖总多年的好友,历年原材料招标均由他主持,对我司一直支持。"
                f"{t.label(50)} 约我方参与讨论采购标准,并承诺本年度订单给我司。"
            ),
        )
        for text, shaped, favourable in (
            ("合金棒材化学成分和力学性能按我司参与起草的技术条件执行", True, True),
            ("交货周期不超过15天,须在上海设有备货仓库", False, True),
            ("年度价格按季度与铝锭现货均价联动", False, True),
            ("最低评标价法:技术合格者中报价最低者中标", False, None),
        ):
            process.criterion_add(
                actor=rep, opportunity=opp, text=text, shaped_by_us=shaped, favourable=favourable
            )
    with at(t, 44, 17 * 60):
        add_milestone(
            rep, opp, t, 44, "proposal_submitted", note="提交年度供货技术方案及报价框架。"
        )
    with at(t, 42, 9 * 60 + 30):
        process.opportunity_advance(actor=rep, opportunity=opp)
    with at(t, 35, 14 * 60):
        opportunity_services.opportunity_update(
            actor=rep, opportunity=opp, buyer_stage="evaluation"
        )

    # The new managing director arrives; the old one leaves; the top reports move.
    with clock.freeze(t.at(28, 9 * 60)):
        contact_services.contact_update(
            actor=rep, contact=old_gm, status="left", left_at=t.date(-29),
            notes="已离任(集团另有任用)。",
        )  # fmt: skip
        new_gm = add_contact(
            rep, account, LIAO_NEW_GM, title="总经理", department="公司领导", layer="decision",
            reports_to=chair, joined_at=t.date(-28), disc="D",
            notes=(
                f"{t.label(28)} 新任总经理(从外资同行空降)。上任后调整采购小组,"
                "希望由自己信任的人主导招标。我司尚未与其见面。"
            ),
        )  # fmt: skip
        for person in (vp, cto, finance):
            contact_services.contact_update(actor=rep, contact=person, reports_to=new_gm)

    # 刘 is sent away: he no longer runs the tender.
    with clock.freeze(t.at(20, 16 * 60)):
        contact_services.contact_update(
            actor=rep,
            contact=vp,
            title="副总裁(已调任成都分公司)",
            status="left",
            left_at=t.date(-20),
            notes=(
                "廖总多年的好友,曾承诺本年度订单给我司。"
                f"{t.label(20)} 被新任总经理派往成都分公司筹建,不再参与本次招标。"
            ),
        )
        contact_services.contact_update(actor=rep, contact=purchasing, reports_to=new_gm)

    # 王 calls: the tender has moved to design, which now reports to the new GM; the
    # criteria are to be written again, so the customer is back at its criteria.
    with clock.freeze(t.at(14, 11 * 60)):
        contact_services.contact_update(
            actor=rep,
            contact=design,
            reports_to=new_gm,
            notes=(
                "负责产品设计与材料选型,设计部现直接向新任总经理汇报。"
                f"{t.label(14)} 主动来电:本次原材料招标已转由设计部负责,采购标准将重新制定。"
                "此前我司与王部长从未见过面。"
            ),
        )
        add_stakeholder(
            rep, opp, design, ["technical"], "unknown", influence=5, relationship=0,
            notes="现负责本次招标和采购标准。从未见过面。",
        )  # fmt: skip
        add_stakeholder(
            rep, opp, new_gm, ["decision_maker"], "unknown", influence=5, relationship=0,
            notes="新任总经理,最终拍板。尚未见面,立场不明。",
        )  # fmt: skip
        moved = intel_services.intel_add(
            actor=rep,
            opportunity=opp,
            text="本次原材料招标已转由设计部负责,采购标准将重新制定,开标推迟约一周。",
            sources=[design],
            critical=True,
        )
    with at(t, 13, 17 * 60):
        intel_services.intel_confirm(
            actor=rep, item=moved, contact=purchasing, note="钱经理电话证实:采购部只负责商务流程。"
        )
        intel_services.intel_add(
            actor=rep,
            opportunity=opp,
            text="新任总经理高振宇希望由自己信任的人主导招标,对老供应商并无偏好。",
            sources=[purchasing],
            critical=True,
        )
    with at(t, 13, 17 * 60 + 30):
        opportunity_services.opportunity_update(
            actor=rep,
            opportunity=opp,
            buyer_stage="criteria",
            expected_close=t.date(45),
            description=(
                f"廖总与华鼎副总裁刘建华是多年好友。{t.label(56)} 刘总承诺新一年度原材料业务"
                "继续给我司,并表示由他主持招标;我方据此参与了采购标准的讨论。\n"
                f"{t.label(28)} 新任总经理高振宇到任,希望由自己的人主导招标。"
                f"{t.label(20)} 刘总被派往成都分公司,不再参与本项目。\n"
                f"{t.label(14)} 设计部部长王立新来电:招标已转由设计部负责,采购标准重新制定,"
                "开标推迟约一周。我方与王部长、高总均未建立关系,目前只剩价格优势。\n"
                "风险:关键人变化;决策者不支持我方;只有单线联系。"
                "下一步:请廖总尽快拜访高总;技术团队约见王部长和设计部,"
                "在设计部内部发展新的教练。只报最低价是不够的。"
            ),
        )
    _market(rep, account, opp, t)
    return CaseRecords(accounts=[account], opportunities=[opp])


def _market(rep, account, opp, t: Timeline) -> None:
    """The incumbent's side of 廖总's customer: ten years of supply (two in the ERP),
    most of the share, and on paper still ahead of the rival the design department
    knows — which is why the red flags of the buying centre matter more here."""
    year = t.today.year
    with at(t, 100, 16 * 60):
        for i in range(8):
            revenue.revenue_record_add(
                actor=rep, account=account, date=t.date(-(110 + 91 * i)),
                amount=(7_400_000, 8_100_000, 6_900_000, 7_800_000)[i % 4],
                profit=(1_180_000, 1_290_000, 1_050_000, 1_230_000)[i % 4],
                source="ERP", note="特种合金棒材、铝合金型材", external_key=f"ERP-LIAO-{i + 1}",
            )  # fmt: skip
        competition.competition_map_set(
            actor=rep,
            account=account,
            entries=[
                {
                    "us": True, "share": 60, "relationship": 4, "satisfaction": 4,
                    "incumbent": True, "since": year - 11,
                    "history": "合作十余年,历年原材料招标由刘建华副总裁主持,我方中标率高。",
                },
                {
                    "competitor_name": RIVAL, "share": 25, "relationship": 2, "satisfaction": 4,
                    "since": year - 4, "history": "设计部选型时常推荐其材料;价格略高于我方。",
                },
            ],
        )  # fmt: skip
        competition.position_set(
            actor=rep,
            account=account,
            posture="defend",
            barrier_commercial=True,
            barrier_process=True,
            notes="在位供应商:年度框架协议,我方库存与客户生产计划对接。技术上尚无壁垒:"
            "材料选型由设计部决定,我方从未与设计部合作。",
        )
        needs.needs_set(
            actor=rep,
            account=account,
            needs=[
                {"dimension": "材料性能一致性", "importance": 5, "our_fit": 4},
                {"dimension": "交货准时", "importance": 4, "our_fit": 5},
                {"dimension": "价格", "importance": 4, "our_fit": 5},
                {"dimension": "设计选型配合", "importance": 4, "our_fit": 2,
                 "note": "设计部负责材料选型,我方从未拜访。"},
                {"dimension": "付款条件", "importance": 3, "our_fit": 4},
            ],
        )  # fmt: skip
    for days_ago, score in ((300, 4), (210, 4), (120, 4), (25, 3)):
        with at(t, days_ago, 11 * 60):
            needs.satisfaction_record_add(
                actor=rep, account=account, score=score, date=t.date(-days_ago)
            )
    with at(t, 12, 10 * 60):
        rival = competitor_get_or_create(actor=rep, name=RIVAL)
        us = dict(zip(CRITERIA, (5, 3, 5, 3, 2, 4, 4, 4, 3, 4, 4, 4, 5), strict=True))
        them = dict(zip(CRITERIA, (2, 4, 2, 4, 4, 4, 4, 3, 4, 3, 4, 3, 3), strict=True))
        scoring.competition_set(actor=rep, opportunity=opp, scores={"us": us, rival: them})


RIVAL = "江苏宏远特种材料有限公司"
