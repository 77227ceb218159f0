"""B公司 and 李四 (SPEC §7, §11): the referral partner whose employer buys."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from kam.accounts import services as account_services
from kam.core import clock
from kam.demo.cases.common import (
    B_ACCOUNT,
    B_INDIRECT_ACCOUNT,
    FICTION,
    LISI,
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
from kam.partners import services as partner_services


def settled_half(t: Timeline) -> tuple[dt.date, dt.date]:
    """The last half-year that has ended: 李四's worked example falls in it whole, so
    his statement for that period (2026H1 when the demo is loaded in late 2026) shows
    SPEC §7's numbers on whatever day the demo is loaded."""
    if t.today.month <= 6:
        return dt.date(t.today.year - 1, 7, 1), dt.date(t.today.year - 1, 12, 31)
    return dt.date(t.today.year, 1, 1), dt.date(t.today.year, 6, 30)


def b_company(users: dict[str, Any], t: Timeline) -> CaseRecords:
    """B公司 and 李四 (SPEC §7, §11): our German machine-tool distribution unit; 李四,
    a purchasing/technical person at a buyer, refers business — the numbers of the
    worked example are his, and since his employer buys, his direct commissions must
    be held until disclosed and approved."""
    rep = users["rep3"]
    half_start, _half_end = settled_half(t)
    h = (t.today - half_start).days  # days ago the settled half-year began

    def in_half(offset: int) -> int:
        """Days ago of the day `offset` days into the settled half-year."""
        return h - offset

    with clock.freeze(t.at(h + 30, 9 * 60 + 40)):
        account = account_services.account_create(
            actor=rep,
            owner=rep,
            name=B_ACCOUNT,
            industry="精密机械",
            region="苏州",
            nature="private",
            size="medium",
            account_type="transactional",
            annual_revenue="620000000",
            collection_cycle_days=60,
            receivables="10000",
            credit_limit="500000",
            notes=(
                "精密零件加工厂,数控机床约一百二十台,以德系和日系设备为主。"
                "由李四(设备采购主管)推荐,开始向我司机床事业部(即案例中的「B公司」,"
                f"代理德国机床及配套产品)采购夹具和机床配件。{FICTION}"
            ),
        )
        gm = add_contact(
            rep, account, "黄德明", title="总经理", department="公司领导", layer="decision",
            joined_at=t.date(-3000), disc="D",
        )  # fmt: skip
        equipment = add_contact(
            rep, account, "罗海波", title="设备部经理", department="设备部",
            layer="management", reports_to=gm, joined_at=t.date(-1400), disc="S",
        )  # fmt: skip
        add_contact(
            rep, account, "曾国庆", title="采购部经理", department="采购部", layer="management",
            reports_to=gm, joined_at=t.date(-2200),
        )  # fmt: skip
        add_contact(
            rep, account, "田秀兰", title="财务经理", department="财务部", layer="management",
            reports_to=gm, joined_at=t.date(-2600),
        )  # fmt: skip
        lisi = add_contact(
            rep, account, LISI, title="设备采购主管", department="设备部", layer="operation",
            reports_to=equipment, joined_at=t.date(-1700), disc="I",
            notes=(
                "懂技术也懂采购,协助我司机床事业部(B公司)推介德国机床及配套产品:直接推荐了"
                "本公司的两笔采购(40,000元、60,000元),间接推荐了无锡启航的一笔(30,000元)。\n"
                "按推荐方案:直接佣金 = 5% × 已回款 → 2,000 + 2,500 元,另 500 元待回款后计入;"
                "批量奖励基数 40,000 + 50,000 + 40% × 30,000 = 102,000 元 ≥ 100,000,"
                "奖励 1% = 1,020 元。\n"
                "合规提示:李四受雇于本客户,他推荐的本公司采购就是其雇主的采购。向买方员工支付佣金"
                "可能构成商业贿赂(反不正当竞争法第七条),直接佣金须冻结,待客户书面知情同意"
                "并经管理员批准后方可支付(见「合作伙伴」中李四的对账单)。"
            ),
        )  # fmt: skip

    with clock.freeze(t.at(h + 20, 13 * 60)):
        indirect_account = account_services.account_create(
            actor=rep,
            owner=rep,
            name=B_INDIRECT_ACCOUNT,
            industry="自动化设备",
            region="无锡",
            nature="private",
            size="small",
            account_type="transactional",
            annual_revenue="95000000",
            collection_cycle_days=45,
            receivables="0",
            credit_limit="300000",
            notes=f"非标自动化设备制造商。由李四(苏州博远)介绍给我司,属间接推荐。{FICTION}",
        )
        boss = add_contact(
            rep, indirect_account, "宋志强", title="总经理", department="公司领导",
            layer="decision", joined_at=t.date(-2400), disc="D",
            notes="李四的老同事。",
        )  # fmt: skip
        engineer = add_contact(
            rep, indirect_account, "杜文博", title="技术部经理", department="技术部",
            layer="management", reports_to=boss, joined_at=t.date(-1000), disc="C",
        )  # fmt: skip

    # 李四 signs the programme's written agreement; he works for the customer of his
    # direct referrals, so the guard holds their commissions (SPEC §7 compliance).
    with clock.freeze(t.at(h + 25, 15 * 60 + 30)):
        partner = partner_services.partner_create(
            actor=rep,
            owner=rep,
            name=LISI,
            employer_account=account,
            position="设备采购主管",
            phone="138-0000-4417",
            agreement_date=t.date(-(h + 25)),
            agreement_terms=(
                "《合作推广协议》:直接推荐按已回款金额的5%计付佣金,未回款部分待回款后计付;"
                "间接推荐按成交额的40%计入批量奖励基数;每半年结算一次,基数达到10万元时另付"
                "基数的1%作为批量奖励。所有推荐须书面登记备案。"
            ),
            notes=(
                "推荐人受雇于买方(苏州博远):直接推荐佣金须经客户书面知情同意、管理员批准后"
                f"方可支付。{FICTION}"
            ),
        )

    # 李四's deals, each walked through the key nodes to the signed contract in the
    # settled half-year: his two direct referrals at his employer, and the customer he
    # introduced; then the money collected on them (回款) in the same half.
    direct = (
        (lisi, ["technical", "user"], "champion", 3, 4, "推荐人,协助我方了解需求和设备现状。"),
        (equipment, ["decision_maker"], "supporter", 5, 3, "设备类小额采购由他拍板。"),
    )
    indirect = (
        (engineer, ["technical"], "supporter", 4, 3, "李四介绍认识,提供需求和选型信息。"),
        (boss, ["decision_maker"], "champion", 5, 3, "李四的老同事。"),
    )
    deals = []
    deals_kind = ("direct", "direct", "indirect")
    collections = (
        ((100, "40000", "电汇 ZJ-0418"),),
        ((105, "30000", "电汇 ZJ-0522"), (150, "20000", "承兑汇票 CD-0607")),
        (),
    )
    for account_, people, name, amount, won, span, acceptance, scores, criteria, note in (
        (
            account, direct, "德国精密虎钳及零点快换夹具", "40000", in_half(40), 50, in_half(70),
            (2, 4, 5, 4, 5, 5, 3, 4, 4), "夹具须兼容现有德系机床的零点定位系统",
            "李四直接推荐。合同已签,货已交付。合同金额40,000元,已回款40,000元。",
        ),
        (
            account, direct, "五轴机床数控转台配件", "60000", in_half(75), 45, None,
            (2, 4, 5, 4, 5, 5, 3, 4, 4), "转台配件须为原厂件并提供德国原厂质保",
            "李四直接推荐。合同已签,货已交付。合同金额60,000元,已回款50,000元,"
            "尾款10,000元待验收后支付。",
        ),
        (
            indirect_account, indirect, "德国品牌三坐标测量仪配件", "30000", in_half(60), 40,
            in_half(95),
            (2, 4, 4, 3, 4, 4, 4, 4, 4), "测量仪配件须提供原厂溯源证书",
            "李四间接推荐(介绍了本客户)。合同已签,合同金额30,000元。"
            "间接推荐不计单笔佣金,按40%计入李四的批量奖励基数。",
        ),
    ):  # fmt: skip
        start = won + span
        with at(t, start, 14 * 60 + 15):
            opp = opportunity_services.opportunity_create(
                actor=rep,
                account=account_,
                owner=rep,
                name=name,
                amount=amount,
                expected_close=t.date(-won),
                playbook="standard-6",
                buyer_stage="need",
                description=note,
            )
            partner_services.referral_add(
                actor=rep,
                partner=partner,
                opportunity=opp,
                kind=deals_kind[len(deals)],
                note="李四推荐,已按协议书面登记。",
            )
        with at(t, start - 1, 10 * 60):
            process.evaluation_record(actor=rep, opportunity=opp, scores=eval_scores(*scores))
        with at(t, start - 6, 9 * 60 + 30):
            opportunity_services.opportunity_update(
                actor=rep, opportunity=opp, buyer_stage="approval"
            )
            process.opportunity_advance(actor=rep, opportunity=opp)
        with at(t, start - 7, 15 * 60):
            for contact, roles, stance, influence, relationship, notes in people:
                add_stakeholder(
                    rep, opp, contact, roles, stance, is_coach=contact in (lisi, engineer),
                    influence=influence, relationship=relationship, notes=notes,
                )  # fmt: skip
            add_milestone(
                rep, opp, t, start - 7, "candidate_confirmed", note="经推荐进入供应商名录。"
            )
        with at(t, start - 14, 10 * 60):
            opportunity_services.opportunity_update(
                actor=rep, opportunity=opp, buyer_stage="criteria"
            )
            process.opportunity_advance(actor=rep, opportunity=opp)
        with at(t, start - 16, 11 * 60):
            for text, shaped, favourable in (
                (criteria, True, True),
                ("交货期不超过4周", False, True),
                ("质保期12个月", False, None),
            ):
                process.criterion_add(
                    actor=rep, opportunity=opp, text=text, shaped_by_us=shaped,
                    favourable=favourable,
                )  # fmt: skip
        with at(t, start - 18, 16 * 60):
            add_milestone(
                rep, opp, t, start - 18, "proposal_submitted", note="提交选型方案和报价。"
            )
        with at(t, start - 22, 9 * 60 + 15):
            opportunity_services.opportunity_update(
                actor=rep, opportunity=opp, buyer_stage="evaluation"
            )
            process.opportunity_advance(actor=rep, opportunity=opp)
        with at(t, start - 25, 14 * 60):
            add_milestone(
                rep, opp, t, start - 25, "bid_submitted", price=Decimal(amount) * Decimal("1.05"),
                margin="26.0", note="议标:向客户提交商务报价。",
            )  # fmt: skip
        with at(t, start - 30, 10 * 60):
            opportunity_services.opportunity_update(
                actor=rep, opportunity=opp, buyer_stage="negotiation"
            )
            process.opportunity_advance(actor=rep, opportunity=opp)
        with at(t, won, 14 * 60 + 15):
            add_milestone(rep, opp, t, won, "contract_signed", price=amount, note="合同已签订。")
            opportunity_services.opportunity_update(
                actor=rep, opportunity=opp, buyer_stage="contract"
            )
            process.opportunity_advance(actor=rep, opportunity=opp)
        if acceptance is not None:
            with at(t, acceptance, 15 * 60):
                add_milestone(rep, opp, t, acceptance, "acceptance", note="验收合格。")
                process.opportunity_advance(actor=rep, opportunity=opp)  # project closed
        for offset, money, reference in collections[len(deals)]:
            with at(t, in_half(offset), 11 * 60):
                partner_services.payment_record(
                    actor=rep, opportunity=opp, amount=money, date=t.date(-in_half(offset)),
                    reference=reference,
                )  # fmt: skip
        deals.append(opp)
    return CaseRecords(accounts=[account, indirect_account], opportunities=deals)
