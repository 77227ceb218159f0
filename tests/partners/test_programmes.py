"""The referral programmes as configuration (models/partner_programmes.toml): the shipped
file, an administrator's override, broken files refused naming the file and the field,
and a programme settled by year instead of by half-year."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from kam.core import clock
from kam.methodology import registry
from kam.methodology.commission import Programme
from kam.methodology.registry import MethodologyError, build
from kam.partners.models import Partner
from tests.partners.conftest import at, make_partner, pay

PLAYBOOKS = Path(registry.__file__).parent / "playbooks"
SHIPPED_TEXT = (registry.MODELS_DIR / "partner_programmes.toml").read_text(encoding="utf-8")


def _override(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "partner_programmes.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _replace(old: str, new: str) -> str:
    assert old in SHIPPED_TEXT
    return SHIPPED_TEXT.replace(old, new, 1)


def test_the_shipped_file_is_spec_7(tmp_path):
    # when
    m = build([PLAYBOOKS], model_override_dir=tmp_path)
    # then
    programmes = m.partner_programmes
    assert programmes.default == "standard"
    assert list(programmes.programmes) == ["standard"]
    standard = programmes.programmes["standard"]
    assert standard.name.en == "Standard referral programme"
    assert standard.name.zh_hans == "标准推荐方案"
    assert (standard.period, standard.currency) == ("half", "CNY")
    assert (
        standard.direct_rate,
        standard.indirect_weight,
        standard.threshold,
        standard.bonus_rate,
    ) == (Decimal("0.05"), Decimal("0.40"), Decimal("100000"), Decimal("0.01"))
    assert standard.rules() == Programme()
    assert registry.current().partner_programmes == programmes


def test_an_override_replaces_the_shipped_file(tmp_path):
    # given: the admin pays 6% and adds a yearly programme
    text = _replace('direct_rate = "0.05"', 'direct_rate = "0.06"') + (
        '\n[programmes.annual]\nname = { en = "Annual", zh-Hans = "年度方案" }\nperiod = "year"\n'
        'direct_rate = "0.04"\nindirect_weight = "0.5"\nthreshold = "200000"\n'
        'bonus_rate = "0.02"\n'
    )
    folder = tmp_path / "models"
    _override(folder, text)
    # when
    m = build([PLAYBOOKS], model_override_dir=folder)
    # then
    programmes = m.partner_programmes.programmes
    assert programmes["standard"].direct_rate == Decimal("0.06")
    annual = programmes["annual"]
    assert (annual.period, annual.currency, annual.threshold) == ("year", "CNY", Decimal("200000"))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('direct_rate = "0.05"', 'direct_rate = "1.5"',
         "programmes.standard.direct_rate: Input should be less than or equal to 1"),
        ('bonus_rate = "0.01"', 'bonus_rate = "-0.01"',
         "programmes.standard.bonus_rate: Input should be greater than or equal to 0"),
        ('direct_rate = "0.05"', "direct_rate = 0.05",
         'programmes.standard.direct_rate: Value error, write the number as text, e.g. "0.05"'),
        ('indirect_weight = "0.40"', "indirect_weight = 0.4",
         "programmes.standard.indirect_weight: Value error, write the number as text"),
        ('direct_rate = "0.05"', 'direct_rate = "five percent"',
         "programmes.standard.direct_rate: Input should be a valid decimal"),
        ('default = "standard"', 'default = "gold"',
         "default 'gold' is not a programme; use one of: standard"),
        ('default = "standard"\n', "",
         "default: Field required"),
        ("[programmes.standard]", "[programmes.Standard]",
         "programme keys are lower-case letters, digits, - and _: Standard"),
        ('currency = "CNY"', 'currency = "CNY"\nrate = "0.05"',
         "programmes.standard.rate: Extra inputs are not permitted"),
        ('period = "half"', 'period = "quarter"',
         "programmes.standard.period: Input should be 'half' or 'year'"),
        ('currency = "CNY"', 'currency = "cny"',
         "programmes.standard.currency: String should match pattern"),
        ('threshold = "100000"', 'threshold = "-1"',
         "programmes.standard.threshold: Input should be greater than or equal to 0"),
        ('zh-Hans = "标准推荐方案"', 'zh-Hans = ""',
         "programmes.standard.name.zh-Hans: String should have at least 1 character"),
        ('direct_rate = "0.05"\n', "",
         "programmes.standard.direct_rate: Field required"),
        ('threshold = "100000"', 'threshold = "100000', "is not valid TOML"),
    ],
)  # fmt: skip
def test_a_broken_override_is_refused_naming_the_file_and_field(tmp_path, old, new, expected):
    # given
    folder = tmp_path / "models"
    path = _override(folder, _replace(old, new))
    # when
    with pytest.raises(MethodologyError) as err:
        build([PLAYBOOKS], model_override_dir=folder)
    # then
    assert str(err.value).startswith(f"{path}: ")
    assert expected in str(err.value)


def test_a_file_without_programmes_is_refused(tmp_path):
    path = _override(tmp_path / "models", 'default = "standard"\n[programmes]\n')
    with pytest.raises(MethodologyError) as err:
        build([PLAYBOOKS], model_override_dir=tmp_path / "models")
    assert str(err.value).startswith(f"{path}: ")
    assert "programmes: Dictionary should have at least 1 item" in str(err.value)


# --- partners and their programme ------------------------------------------------------------


def test_a_partner_follows_a_named_programme(world, api_as, frozen, set_programme):
    # given
    set_programme("gold", name={"en": "Gold", "zh-Hans": "金牌方案"}, direct_rate="0.08")
    # when
    r = api_as(world.rep_a).post("partners", {"name": "张三", "programme": "gold"})
    # then
    assert r.status_code == 201, r.content
    assert (r.json()["programme"], r.json()["programme_name"]) == ("gold", "Gold")
    r = api_as(world.rep_a).patch(f"partners/{r.json()['id']}", {"programme": "standard"})
    assert (r.status_code, r.json()["programme"]) == (200, "standard")


def test_the_unknown_programme_message_lists_the_choices(world, api_as, frozen, set_programme):
    set_programme("gold", name={"en": "Gold", "zh-Hans": "金牌方案"})
    r = api_as(world.rep_a).post("partners", {"name": "张三", "programme": "silver"})
    assert r.status_code == 422
    assert (r.json()["field"], r.json()["detail"]) == (
        "programme",
        "“silver” is not a referral programme; use one of: standard, gold.",
    )


def test_a_programme_removed_from_the_file_falls_back_to_the_default(world, api_as, wangwu):
    # given: 王五 followed a programme the administrator has since removed
    Partner.objects.filter(pk=wangwu["partner"].pk).update(programme="retired")
    client = api_as(world.rep_a)
    # when
    partner = client.get(f"partners/{wangwu['partner'].pk}")
    body = client.get(f"partners/{wangwu['partner'].pk}/statement?period=2026H1")
    # then: shown under the default programme's rules, not a crash
    assert partner.status_code == 200
    assert partner.json()["programme_name"] == "Standard referral programme"
    assert (body.status_code, body.json()["payable"]) == (200, "5520.00")


# --- a yearly programme ------------------------------------------------------------------------


def test_a_yearly_programme_settles_by_year(world, api_as, wangwu, set_programme):
    # given: the standard programme settles by year; 10,000 more collected on 2026-07-01
    set_programme(period="year")
    partner = wangwu["partner"]
    pay(world.rep_a, wangwu["deals"]["d60"], "10000", dt.date(2026, 7, 1))
    client = api_as(world.rep_a)
    # when
    year = client.get(f"partners/{partner.pk}/statement?period=2026")
    half = client.get(f"partners/{partner.pk}/statement?period=2026H1")
    default = client.get(f"partners/{partner.pk}/statement")
    # then: the year holds both halves — 5,000 earned, nothing pending, base 112,000
    assert year.status_code == 200, year.content
    body = year.json()
    assert (body["period"], body["start"], body["end"], body["ended"]) == (
        "2026",
        "2026-01-01",
        "2026-12-31",
        False,
    )
    assert (body["earned"], body["pending"], body["volume_base"], body["volume_bonus"]) == (
        "5000.00",
        "0.00",
        "112000.00",
        "1120.00",
    )
    assert [f["code"] for f in body["flags"]] == ["period_open"]
    assert half.status_code == 422
    assert (half.json()["field"], half.json()["detail"]) == (
        "period",
        "Standard referral programme settles by year; ask for 2026.",
    )
    assert default.json()["period"] == "2026"


def test_a_yearly_programme_names_its_periods_in_chinese(world, api_as, wangwu, set_programme):
    set_programme(period="year")
    pid = wangwu["partner"].pk
    r = api_as(world.rep_a, "zh-Hans").get(f"partners/{pid}/statement?period=2026H2")
    assert r.status_code == 422
    # the programme's own name comes from the file in the user's language
    assert "标准推荐方案" in r.json()["detail"]


def test_a_yearly_programme_pays_the_ended_year(world, api_as, wangwu, set_programme):
    set_programme(period="year")
    with clock.freeze(at(2027, 1, 2)):
        r = api_as(world.admin).post(f"partners/{wangwu['partner'].pk}/payouts", {"period": "2026"})
    assert (r.status_code, r.json()["amount"]) == (201, "5520.00")


def test_a_partner_created_later_gets_the_default(world, frozen):
    assert make_partner(world.rep_a, "默认").programme == "standard"
