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


POSTS: tuple[Post, ...] = (
    Post("gm", "总经理", "公司领导", "decision", None),
    Post("vp_prod", "副总经理(分管生产)", "公司领导", "decision", "gm"),
    Post("vp_tech", "总工程师", "公司领导", "decision", "gm"),
    Post("cfo", "财务总监", "财务部", "management", "gm"),
    Post("proc_mgr", "采购部经理", "采购部", "management", "vp_prod"),
    Post("tech_head", "技术部部长", "技术部", "management", "vp_tech"),
    Post("equip_head", "设备部部长", "设备部", "management", "vp_prod"),
    Post("prod_mgr", "生产部经理", "生产部", "management", "vp_prod"),
    Post("quality_mgr", "质量部经理", "质量部", "management", "vp_tech"),
    Post("buyer", "采购工程师", "采购部", "operation", "proc_mgr"),
    Post("equip_eng", "设备工程师", "设备部", "operation", "equip_head"),
    Post("process_eng", "工艺工程师", "技术部", "operation", "tech_head"),
    Post("workshop", "车间主任", "生产部", "operation", "prod_mgr"),
)

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
