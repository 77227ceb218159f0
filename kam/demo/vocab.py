"""Words the synthetic demo data is made of. All companies and people are invented;
names are built from common words so that none is meant to be a real firm.

Order matters: the generator draws from these lists with a seeded RNG, so changing
a list changes the demo (the determinism test pins it)."""

from __future__ import annotations

from dataclasses import dataclass

# Cities grouped by sales area; `Account.region` holds the city (as in the cases).
CITIES: dict[str, tuple[str, ...]] = {
    "华东": ("上海", "苏州", "无锡", "常州", "南京", "杭州", "宁波", "合肥", "济南", "青岛"),
    "华南": ("广州", "深圳", "东莞", "佛山", "厦门"),
    "华北": ("北京", "天津", "石家庄", "唐山", "太原"),
    "西南": ("成都", "重庆", "昆明", "贵阳"),
}

# Two-character trade names (字号); combined with city and industry word they make
# a plausible but invented company name.
BRANDS: tuple[str, ...] = (
    "恒岳", "瑞丰", "鼎力", "海川", "盛源", "众合", "泰和", "明德", "安瑞", "宇辰",
    "清源", "德胜", "启明", "锦程", "凌云", "瀚海", "嘉禾", "金桥", "华锐", "永信",
    "国瑞", "新锐", "天成", "通和", "华岳", "佳诚", "北辰", "东岳", "和昌", "远帆",
    "长润", "益丰", "润泽", "中扬", "昊天", "弘毅", "精诚", "融泰", "铭远", "博瑞",
    "信达", "晟阳", "兆丰", "峻德", "沃顿", "景程", "合力", "百川",
)  # fmt: skip

# Invented foreign-sounding names for foreign-owned firms and joint ventures.
FOREIGN_BRANDS: tuple[str, ...] = (
    "凯瑞斯", "韦斯特", "诺德兰", "弗莱克", "贝尔曼", "赫斯林", "奥兰多", "斯坦霍夫",
    "莱克森", "托马森",
)  # fmt: skip


@dataclass(frozen=True)
class Industry:
    """An industry our supplier sells into: how its firms are named, who owns them,
    and what they buy from us (opportunity names)."""

    name: str
    words: tuple[str, ...]  # the industry word in a company name
    natures: tuple[str, ...]  # ownership natures, most typical first (drawn with repeats)
    products: tuple[str, ...]


INDUSTRIES: tuple[Industry, ...] = (
    Industry(
        "汽车零部件",
        ("汽车部件", "汽车零部件", "汽车配件"),
        ("private", "jv", "foreign", "private"),
        (
            "冲压线自动化改造",
            "五轴加工中心采购(3台)",
            "焊接机器人工作站",
            "年度刀具框架协议",
            "铝合金压铸原材料年度供货",
            "变速箱壳体加工线",
        ),
    ),
    Industry(
        "工程机械",
        ("重工", "工程机械", "机械"),
        ("soe", "private", "soe"),
        ("结构件焊接生产线", "大型龙门加工中心", "高强钢板年度采购", "涂装线改造", "液压件试验台"),
    ),
    Industry(
        "电力设备",
        ("电气", "电力设备", "输变电设备"),
        ("soe", "private", "jv"),
        (
            "变压器硅钢片年度供货",
            "GIS壳体加工设备",
            "智能立体仓储系统",
            "真空干燥设备",
            "开关柜钣金生产线",
        ),
    ),
    Industry(
        "化工",
        ("化工", "新材料", "石化"),
        ("soe", "private", "foreign"),
        (
            "DCS控制系统升级",
            "防爆电机及变频器",
            "反应釜及配套",
            "年度阀门框架采购",
            "RTO废气处理装置",
        ),
    ),
    Industry(
        "钢铁",
        ("钢铁", "特钢", "冶金"),
        ("soe", "soe", "private"),
        (
            "轧机主传动改造",
            "耐火材料年度供货",
            "除尘系统改造",
            "在线表面检测系统",
            "连铸结晶器铜板",
        ),
    ),
    Industry(
        "轨道交通",
        ("轨道交通装备", "机车车辆", "轨道交通"),
        ("soe", "soe", "jv"),
        (
            "转向架构架加工设备",
            "车体铝型材供货",
            "检修库工艺设备",
            "牵引变流器元器件",
            "地铁车辆段维修设备",
        ),
    ),
    Industry(
        "新能源",
        ("新能源科技", "储能科技", "光伏科技", "动力电池"),
        ("private", "private", "jv"),
        (
            "锂电池极片分切设备",
            "光伏组件层压机",
            "电芯模组产线自动化",
            "储能柜结构件年度供货",
            "电池壳体冲压模具",
        ),
    ),
    Industry(
        "医疗器械",
        ("医疗器械", "医疗科技", "生物医疗"),
        ("private", "foreign", "private"),
        (
            "万级洁净车间改造",
            "精密注塑机采购",
            "医用级不锈钢管材供货",
            "灭菌设备更新",
            "导管挤出生产线",
        ),
    ),
    Industry(
        "食品饮料",
        ("食品", "饮品", "乳业"),
        ("private", "foreign", "jv"),
        ("无菌灌装线升级", "不锈钢储罐及管路", "后道包装自动化", "CIP清洗系统", "冷库制冷机组"),
    ),
    Industry(
        "船舶海工",
        ("船舶重工", "海洋工程", "造船"),
        ("soe", "soe", "private"),
        ("船用钢板年度采购", "分段焊接机器人", "数控切割设备", "舾装件年度供货"),
    ),
    Industry(
        "家电电子",
        ("电器", "电子", "智能家电"),
        ("private", "foreign", "jv"),
        ("钣金冲压模具", "注塑机及周边设备", "SMT贴片线", "自动化装配线"),
    ),
    Industry(
        "科研院所",
        ("材料研究院", "机械科学研究院", "工业技术研究院"),
        ("public_institution",),
        ("实验检测设备", "中试生产线", "材料试验机采购", "科研仪器年度采购"),
    ),
)

SURNAMES: tuple[str, ...] = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
    "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯",
    "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜",
    "叶", "程", "苏", "魏", "吕", "丁", "任", "沈",
)  # fmt: skip

GIVEN_NAMES: tuple[str, ...] = (
    "伟", "芳", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明",
    "超", "华", "平", "刚", "建华", "志强", "国强", "海燕", "晓东", "建国", "立新",
    "春梅", "文博", "思远", "雨欣", "浩然", "俊杰", "婷婷", "一鸣", "振宇", "晓峰",
    "玉兰", "红梅", "德明", "永刚", "雪梅", "宏伟", "晨曦", "佳怡", "子涵", "国庆",
    "卫东", "秀兰", "志勇", "海波", "丹",
)  # fmt: skip


@dataclass(frozen=True)
class Post:
    """A post in a typical Chinese manufacturer's buying organisation. `parent` is the
    post it reports to; when that post is not filled in an account, the contact
    reports to the nearest filled post above it."""

    key: str
    title: str
    department: str
    layer: str
    parent: str | None
    roles: tuple[str, ...]  # the buying-centre roles (SPEC §4) this post usually holds
    decides: bool = False  # may be the decision maker of a smaller purchase


POSTS: tuple[Post, ...] = (
    Post("gm", "总经理", "公司领导", "decision", None, ("decision_maker",), True),
    Post(
        "vp_prod", "副总经理(分管生产)", "公司领导", "decision", "gm", ("influencer", "user"), True
    ),
    Post("vp_tech", "总工程师", "公司领导", "decision", "gm", ("technical", "influencer")),
    Post("cfo", "财务总监", "财务部", "management", "gm", ("finance",)),
    Post("proc_mgr", "采购部经理", "采购部", "management", "vp_prod", ("purchaser",)),
    Post("tech_head", "技术部部长", "技术部", "management", "vp_tech", ("technical",)),
    Post("equip_head", "设备部部长", "设备部", "management", "vp_prod", ("technical", "user")),
    Post("prod_mgr", "生产部经理", "生产部", "management", "vp_prod", ("user",)),
    Post("quality_mgr", "质量部经理", "质量部", "management", "vp_tech", ("influencer",)),
    Post("buyer", "采购工程师", "采购部", "operation", "proc_mgr", ("executor", "gatekeeper")),
    Post("equip_eng", "设备工程师", "设备部", "operation", "equip_head", ("user",)),
    Post("process_eng", "工艺工程师", "技术部", "operation", "tech_head", ("technical",)),
    Post("workshop", "车间主任", "生产部", "operation", "prod_mgr", ("user",)),
)
POST_BY_TITLE: dict[str, Post] = {p.title: p for p in POSTS}

# Short notes a rep would write about a contact, by DISC style (SPEC §4).
DISC_NOTES: dict[str, str] = {
    "D": "决策果断,重结果,汇报要直接给结论和数字。",
    "I": "健谈、重关系,喜欢参加技术交流和行业活动。",
    "S": "稳重,重视长期合作和售后保障,需要时间建立信任。",
    "C": "注重数据和细节,方案需附完整测试报告和参数对比。",
}

# Deal descriptions by how far the deal is: early (finding and qualifying), middle
# (proposal and bid), late (negotiation and signing), after the contract.
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "early": (
        "客户计划{year}年实施,预算已报集团审批,重点关注交期和售后响应。",
        "老客户新增需求,技术部牵头选型,预计邀请三家供应商参与比选。",
        "客户现有设备老化、故障频繁,生产部推动更新;采购部要求提供同行业案例。",
        "项目纳入客户年度技改计划,资金来源为自筹;需尽快安排工厂参观。",
        "通过行业展会获得的线索,已完成初步技术交流,尚未确认预算。",
    ),
    "middle": (
        "已完成技术交流和工厂参观,客户要求两周内提交书面方案。",
        "竞争对手为外资品牌,价格高于我方约15%;客户对国产替代持开放态度。",
        "招标文件预计下月发布,评标以技术分为主(技术60%,商务40%)。",
        "客户更换了采购负责人,需重新梳理采购小组成员及其立场。",
        "我方参与了技术规格书的编写,两项关键参数按我方方案确定。",
    ),
    "late": (
        "已确定为首选供应商,正在谈判付款条件(客户要求3-6-1付款)。",
        "框架协议到期续签,客户希望降价5%并延长账期。",
        "合同已进入客户法务审批流程,需安排我方高层拜访推动签约。",
        "预算已获批,商务条款基本谈妥,剩余交货期和违约条款待定。",
    ),
    "after": (
        "合同已签订,设备到货安装中,预计下季度完成验收。",
        "项目交付中;客户对现场服务响应满意,可争取二期项目。",
        "已发货,待安装调试和终验收,10%尾款在验收后支付。",
    ),
}

# --- the process story (kam.demo.story) ---------------------------------------------

# Purchase criteria (采购标准) a customer writes into an enquiry or tender; the second
# list holds those our side typically shapes (写进标准的是我方的优势).
CRITERIA: tuple[str, ...] = (
    "交货期不超过90天",
    "质保期不少于24个月,故障4小时响应、24小时到场",
    "付款方式:预付30%,到货60%,验收后10%",
    "投标人须具备ISO 9001质量管理体系认证",
    "提供近三年至少两个同行业应用案例",
    "能耗指标不高于国家一级能效标准",
    "设备综合效率(OEE)不低于85%",
    "核心部件须为国际知名品牌",
    "投标人注册资本不少于5,000万元",
    "报价含运输、安装、调试及操作培训",
    "评标办法:技术分60%,商务分40%",
    "最低评标价法,技术合格即可",
)  # fmt: skip
SHAPED_CRITERIA: tuple[str, ...] = (
    "关键参数按我方参与编写的技术规格书执行",
    "须在本省设有备件库和常驻服务工程师",
    "须提供工厂实地考察和样板客户参观",
    "须通过客户现场72小时连续试运行验收",
    "须具备与客户现有MES系统对接的成熟接口",
    "整线交钥匙,供应商对工艺指标负总责",
    "材料须提供第三方检测报告及批次追溯",
    "交付周期承诺写入合同,延期按日计罚",
)  # fmt: skip

MILESTONE_NOTES: dict[str, tuple[str, ...]] = {
    "candidate_confirmed": (
        "通过资格预审,列入候选供应商名单。",
        "客户采购部确认我方入围,共邀请三家供应商。",
        "作为合格供应商直接入围。",
    ),
    "proposal_submitted": (
        "完成技术交流和工厂参观后提交书面方案。",
        "提交技术方案及初步报价。",
        "提交方案并安排样板客户参观。",
    ),
    "bid_submitted": ("按时递交投标文件。", "议标:向客户提交商务报价。"),
    "preferred_supplier": ("客户通知我方为首选供应商。",),
    "terms_agreed": ("价格和付款条件谈妥,待合同审批。",),
    "contract_signed": ("合同已审批并签订。", "双方法人代表签约。"),
    "acceptance": ("工程验收合格,客户签署验收报告。", "终验收通过,尾款进入支付流程。"),
}

# A stakeholder's stance when first mapped (weights; SPEC §4).
DECISION_MAKER_STANCES = (("champion", 10), ("supporter", 40), ("neutral", 30), ("unknown", 20))
COACH_STANCES = (("champion", 65), ("supporter", 35))
OTHER_STANCES = (
    ("supporter", 30),
    ("neutral", 30),
    ("unknown", 15),
    ("enemy", 15),
    ("blocker", 10),
)

# Gates a manager forced (强行进入): playbook, the stage left, the criterion left
# unmet, and the reason written down at the time.
FORCED: tuple[tuple[str, str, str, str], ...] = (
    (
        "standard-6", "development", "evaluation_passed",
        "集团总部点名邀请我方参与,评估分数未达及格线(资金来源待确认)。"
        "经理批准先行进入,资金落实后重新评估。",
    ),
    (
        "standard-6", "entry", "coach",
        "客户要求两周内提交方案,内线仍在发展中;先推进提案,同步发展教练。",
    ),
    (
        "standard-6", "entry", "candidate_confirmed",
        "候选供应商名单尚未公布,但技术部已邀请我方做技术交流,先行推进。",
    ),
    (
        "standard-6", "proposal", "criteria_shaped",
        "招标文件由设计院编制,我方未能参与采购标准的制定;经评估仍决定投标。",
    ),
    (
        "standard-6", "bidding", "bid_submitted",
        "议标项目,客户直接邀请商务谈判;成本核算未完成,毛利稍后补录。",
    ),
    (
        "milestones-5", "need_nurturing", "decision_maker",
        "集团与工厂的采购权限正在调整,决策者尚未明确;客户要求先提交方案。",
    ),
)  # fmt: skip

# Deals that ended without an order: playbook, stage, outcome, reason, and how far
# the work of that stage had got ("full": its key node was met, e.g. the bid was in).
CLOSINGS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "standard-6", "development", "abandoned",
        "评估未通过:资金风险,客户资金来源未落实,放弃跟进。", "knockout",
    ),
    (
        "standard-6", "development", "abandoned",
        "评估得分低于及格线:技术要求超出我方产品范围,暂不跟进。", "fail",
    ),
    (
        "standard-6", "entry", "lost",
        "未进入候选供应商名单:资格预审要求近三年两个以上同类项目业绩。", "partial",
    ),
    (
        "standard-6", "proposal", "abandoned",
        "撤标:采购标准对我方不利(核心部件指定进口品牌)。", "partial",
    ),
    ("standard-6", "bidding", "lost", "价格高出第一名12%,未中标。", "full"),
    ("standard-6", "bidding", "lost", "技术评分落后,未进入前三名短名单。", "full"),
    ("standard-6", "bidding", "abandoned", "撤标:采购标准对我方不利。", "partial"),
    (
        "standard-6", "negotiation", "lost",
        "客户最终选择在位供应商:对方同意把账期延长到180天。", "partial",
    ),
    (
        "milestones-5", "need_nurturing", "abandoned",
        "客户取消项目:集团压缩本年度技改投资。", "partial",
    ),
    ("milestones-5", "solution_evaluation", "lost", "客户技术部选择了外资品牌的方案。", "full"),
)  # fmt: skip

# A manager's priority override (grade, reason) and the evaluation that makes it
# a real override: a medium-likelihood deal lifted to A, a strong one put last.
OVERRIDES: tuple[tuple[str, str, str], ...] = (
    ("A", "集团战略客户:总经理要求按A类全力以赴,由我带队拜访决策层。", "medium"),
    ("D", "客户资金链紧张,应收账款已逾期三个月:降为D类,只做基本维护。", "high"),
)

# A failed tender (流标): fewer than three valid bids, so the customer rewrites its purchase
# criteria and tenders again — the buyer's process moved back from evaluation to criteria.
SETBACK_STAGE = "criteria"
SETBACK = (
    "\n招标流标:有效投标不足三家,客户退回重新编制采购标准后再次招标;借此机会参与新版标准的制定。"
)

# The state-owned-enterprise trap (国企陷阱): negotiating while the project is not approved.
SOE_TRAP = (
    "\n国企客户:项目计划已上报集团,但预算尚未批复——计划上报不等于预算批准,"
    "需核实立项和资金后再推进商务条款。"
)
