"""The three cases of SPEC §11, told as records and events in time.

The demo company is a diversified industrial supplier group whose key-account teams
use KAM: a raw-materials business (廖总's), a garment-accessories unit (the 皇冠
case) and a German machine-tool distribution unit (B公司). Every write goes through
a service under a frozen clock, so the history reads as it happened: the deal
created weeks ago, the buyer moving, the VP sent away, the design head taking over.

Stakeholders, competitors, partners and payments come with later services; until
then the story is in the descriptions and notes, so a reader understands it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kam.accounts import services as account_services
from kam.contacts import services as contact_services
from kam.core import clock
from kam.demo.timeline import Timeline
from kam.opportunities import services as opportunity_services

FICTION = "(演示数据:公司与人物均为虚构。)"

LIAO_ACCOUNT = "上海华鼎精密制造股份有限公司"
CROWN_ACCOUNT = "杭州锦绣华裳服饰股份有限公司"
B_ACCOUNT = "苏州博远精密机械有限公司"
B_INDIRECT_ACCOUNT = "无锡启航自动化设备有限公司"
ACCOUNT_NAMES = (LIAO_ACCOUNT, CROWN_ACCOUNT, B_ACCOUNT, B_INDIRECT_ACCOUNT)

LIAO_VP = "刘建华"
LIAO_DESIGN_HEAD = "王立新"
LIAO_NEW_GM = "高振宇"
LISI = "李四"


@dataclass
class CaseRecords:
    """What the cases made, for the loader's summary and the tests."""

    accounts: list[Any]
    opportunities: list[Any]


def _contact(actor, account, name: str, **fields: Any):
    return contact_services.contact_create(actor=actor, account=account, name=name, **fields)


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
            notes=(
                "上交所主板上市的民营精密制造企业,我司(廖总的原材料公司)最大的客户,合作十余年,"
                "主要供应特种合金棒材和铝合金型材,年采购额约三千万元。历年原材料招标由"
                f"副总裁刘建华主持,我方中标率高。{FICTION}"
            ),
        )
        chair = _contact(
            rep, account, "孙振华", title="董事长", department="公司领导", layer="decision",
            disc="D", joined_at=t.date(-4300),
        )  # fmt: skip
        old_gm = _contact(
            rep, account, "周海涛", title="总经理", department="公司领导", layer="decision",
            reports_to=chair, joined_at=t.date(-2900), disc="S",
        )  # fmt: skip
        vp = _contact(
            rep, account, LIAO_VP, title="副总裁(分管采购与供应链)", department="公司领导",
            layer="decision", reports_to=old_gm, joined_at=t.date(-3300), disc="I",
            notes="廖总多年的好友,历年原材料招标均由他主持,对我司一直支持。",
        )  # fmt: skip
        cto = _contact(
            rep, account, "吴志明", title="技术副总裁", department="公司领导", layer="decision",
            reports_to=old_gm, joined_at=t.date(-2100), disc="C",
        )  # fmt: skip
        design = _contact(
            rep, account, LIAO_DESIGN_HEAD, title="设计部部长", department="设计部",
            layer="management", reports_to=cto, joined_at=t.date(-1500), disc="C",
            notes="负责产品设计与材料选型。我司从未拜访过。",
        )  # fmt: skip
        purchasing = _contact(
            rep, account, "钱卫东", title="采购部经理", department="采购部", layer="management",
            reports_to=vp, joined_at=t.date(-1800), disc="S",
            notes="刘总的老部下,执行刘总的安排。",
        )  # fmt: skip
        finance = _contact(
            rep, account, "郑丽", title="财务总监", department="财务部", layer="management",
            reports_to=old_gm, joined_at=t.date(-2500),
        )  # fmt: skip
        _contact(
            rep, account, "马晓东", title="质量部经理", department="质量部",
            layer="management", reports_to=cto, joined_at=t.date(-900),
        )  # fmt: skip
        _contact(
            rep, account, "陈静", title="采购专员", department="采购部", layer="operation",
            reports_to=purchasing, joined_at=t.date(-700),
        )  # fmt: skip
        _contact(
            rep, account, "林涛", title="主管设计师", department="设计部", layer="operation",
            reports_to=design, joined_at=t.date(-1100), disc="C",
        )  # fmt: skip

    year = t.today.year + 1
    with clock.freeze(t.at(56, 15 * 60)):
        opp = opportunity_services.opportunity_create(
            actor=rep,
            account=account,
            owner=rep,
            name=f"{year}年度特种合金原材料年度招标",
            amount="8600000",
            expected_close=t.date(40),
            playbook="standard-6",
            stage="proposal",
            stage_entered_at=clock.now(),
            buyer_stage="approval",
            description=(
                f"{t.label(56)} 刘建华副总裁告诉廖总:新一年度的原材料业务继续给我们,"
                "招标由他来主持。采购小组已组建,我方正在提交技术方案。"
            ),
        )
    with clock.freeze(t.at(50, 10 * 60 + 30)):
        opportunity_services.opportunity_update(actor=rep, opportunity=opp, buyer_stage="criteria")
        contact_services.contact_update(
            actor=rep,
            contact=vp,
            notes=(
                "廖总多年的好友,历年原材料招标均由他主持,对我司一直支持。"
                f"{t.label(50)} 约我方参与讨论采购标准,并承诺本年度订单给我司。"
            ),
        )

    # The new managing director arrives; the old one leaves; the top reports move.
    with clock.freeze(t.at(28, 9 * 60)):
        contact_services.contact_update(
            actor=rep, contact=old_gm, status="left", left_at=t.date(-29),
            notes="已离任(集团另有任用)。",
        )  # fmt: skip
        new_gm = _contact(
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

    # 王 calls: the tender has moved to design, which now reports to the new GM.
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
        opportunity_services.opportunity_update(
            actor=rep,
            opportunity=opp,
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
    return CaseRecords(accounts=[account], opportunities=[opp])


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
        president = _contact(
            rep, account, "何志远", title="总裁", department="公司领导", layer="decision",
            joined_at=t.date(-3800), disc="D",
        )  # fmt: skip
        supply_vp = _contact(
            rep, account, "沈国平", title="供应链副总裁", department="供应链中心",
            layer="decision", reports_to=president, joined_at=t.date(-1600), disc="C",
            notes="关注总成本和供应安全,愿意引入第二供应商。",
        )  # fmt: skip
        procurement = _contact(
            rep, account, "许晓燕", title="采购总监", department="采购部", layer="management",
            reports_to=supply_vp, joined_at=t.date(-1200), disc="S",
            notes="去年推动我司入围;希望我方证明批量交付的稳定性。",
        )  # fmt: skip
        design = _contact(
            rep, account, "蒋思远", title="设计总监", department="设计部", layer="management",
            reports_to=president, joined_at=t.date(-2700), disc="I",
            notes="与常州恒泰的联合开发团队合作多年,倾向在位供应商。",
        )  # fmt: skip
        _contact(
            rep, account, "潘丽", title="财务总监", department="财务部", layer="management",
            reports_to=president, joined_at=t.date(-2000), disc="C",
            notes="对常州恒泰要求预付款不满,关心付款条件和成本下降。",
        )  # fmt: skip
        _contact(
            rep, account, "曹志勇", title="品控经理", department="品控部", layer="management",
            reports_to=supply_vp, joined_at=t.date(-900),
        )  # fmt: skip
        _contact(
            rep, account, "冯佳怡", title="辅料采购经理", department="采购部",
            layer="operation", reports_to=procurement, joined_at=t.date(-600),
        )  # fmt: skip
        _contact(
            rep, account, "韩雪梅", title="面辅料开发经理", department="设计部",
            layer="operation", reports_to=design, joined_at=t.date(-1300),
        )  # fmt: skip

    season = f"{year}秋冬季" if t.today.month < 6 else f"{year + 1}春夏季"
    with clock.freeze(t.at(20, 10 * 60)):
        main = opportunity_services.opportunity_create(
            actor=rep,
            account=account,
            owner=rep,
            name=f"{season}服装辅料(纽扣、拉链、织带)供货",
            amount="2800000",
            expected_close=t.date(75),
            playbook="standard-6",
            stage="proposal",
            stage_entered_at=clock.now(),
            buyer_stage="approval",
            description=(
                "挑战在位供应商常州恒泰。目标:纽扣、拉链份额从8%提升到25%。\n"
                "策略:以成本和交期切入;向财务总监强调我方月结60天、无预付款;"
                "邀请采购总监参观工厂;争取参与设计部新款联合打样,"
                "削弱恒泰联合开发团队的影响。"
            ),
        )
    with clock.freeze(t.at(9, 16 * 60 + 30)):
        opportunity_services.opportunity_update(actor=rep, opportunity=main, buyer_stage="criteria")
    with clock.freeze(t.at(12, 11 * 60)):
        sample = opportunity_services.opportunity_create(
            actor=rep,
            account=account,
            owner=rep,
            name="新款金属扣件联合开发打样",
            amount="450000",
            expected_close=t.date(120),
            playbook="milestones-5",
            stage="need_nurturing",
            stage_entered_at=clock.now(),
            buyer_stage="search",
            description=(
                "设计部新款系列需要定制金属扣件。借打样与设计部建立联合开发关系,"
                "这是撬动在位供应商的关键一步。"
            ),
        )
    return CaseRecords(accounts=[account], opportunities=[main, sample])


def b_company(users: dict[str, Any], t: Timeline) -> CaseRecords:
    """B公司 and 李四 (SPEC §7, §11): our German machine-tool distribution unit; 李四,
    a purchasing/technical person at a buyer, refers business — the numbers of the
    worked example are his, and since his employer buys, his direct commissions must
    be held until disclosed and approved."""
    rep = users["rep3"]
    with clock.freeze(t.at(260, 9 * 60 + 40)):
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
        gm = _contact(
            rep, account, "黄德明", title="总经理", department="公司领导", layer="decision",
            joined_at=t.date(-3000), disc="D",
        )  # fmt: skip
        equipment = _contact(
            rep, account, "罗海波", title="设备部经理", department="设备部",
            layer="management", reports_to=gm, joined_at=t.date(-1400), disc="S",
        )  # fmt: skip
        _contact(
            rep, account, "曾国庆", title="采购部经理", department="采购部", layer="management",
            reports_to=gm, joined_at=t.date(-2200),
        )  # fmt: skip
        _contact(
            rep, account, "田秀兰", title="财务经理", department="财务部", layer="management",
            reports_to=gm, joined_at=t.date(-2600),
        )  # fmt: skip
        _contact(
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
                "并经管理员批准后方可支付。合作伙伴与推荐记录功能上线后在此登记。"
            ),
        )  # fmt: skip

    with clock.freeze(t.at(150, 13 * 60)):
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
        boss = _contact(
            rep, indirect_account, "宋志强", title="总经理", department="公司领导",
            layer="decision", joined_at=t.date(-2400), disc="D",
            notes="李四的老同事。",
        )  # fmt: skip
        _contact(
            rep, indirect_account, "杜文博", title="技术部经理", department="技术部",
            layer="management", reports_to=boss, joined_at=t.date(-1000), disc="C",
        )  # fmt: skip

    deals = []
    for account_, name, amount, days, note in (
        (
            account,
            "德国精密虎钳及零点快换夹具",
            "40000",
            120,
            "李四直接推荐。合同已签,货已交付。合同金额40,000元,已回款40,000元。",
        ),
        (
            account,
            "五轴机床数控转台配件",
            "60000",
            70,
            "李四直接推荐。合同已签,货已交付。合同金额60,000元,已回款50,000元,"
            "尾款10,000元待验收后支付。",
        ),
        (
            indirect_account,
            "德国品牌三坐标测量仪配件",
            "30000",
            95,
            "李四间接推荐(介绍了本客户)。合同已签,合同金额30,000元。"
            "间接推荐不计单笔佣金,按40%计入李四的批量奖励基数。",
        ),
    ):
        with clock.freeze(t.at(days, 14 * 60 + 15)):
            deals.append(
                opportunity_services.opportunity_create(
                    actor=rep,
                    account=account_,
                    owner=rep,
                    name=name,
                    amount=amount,
                    expected_close=t.date(-days),
                    playbook="standard-6",
                    stage="implementation",
                    stage_entered_at=clock.now(),
                    buyer_stage="contract",
                    description=note + "(回款与推荐记录待相应功能上线后录入。)",
                )
            )
    return CaseRecords(accounts=[account, indirect_account], opportunities=deals)


def tell_all(users: dict[str, Any], t: Timeline) -> CaseRecords:
    out = CaseRecords(accounts=[], opportunities=[])
    for case in (liao, crown, b_company):
        made = case(users, t)
        out.accounts += made.accounts
        out.opportunities += made.opportunities
    return out
