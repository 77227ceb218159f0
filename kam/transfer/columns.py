"""The columns of each kind of record that moves in and out through spreadsheets.

One list per kind (accounts, contacts, opportunities, revenue) serves the import, its
templates and the list exports, so a list exported from KAM, edited in Excel, imports
back as it is. A column has a key (the field it fills), a Chinese and an English header
(either is accepted on import, with or without the `*` that marks a required column,
in any letter case), and a type that says how a cell is read:

- text, and `choice` cells that take the stored key (`soe`), or its name in either
  language (国有 / State-owned);
- money (`1,250,000.00`, a number cell), whole numbers, dates (`2026-03-05`,
  `2026/3/5`, `2026年3月5日`, or a date cell), yes/no (是/否/yes/no/1/0);
- references resolved by the importer: a user (login name or display name), an
  account or contact (code or exact name), a playbook, stage or buyer stage (key or
  name), and `stage_dates`: the days each stage was entered, first to current."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kam.accounts.models import AccountType, Nature, Size
from kam.contacts.models import ContactStatus, Disc, Layer
from kam.core.errors import ValidationFailed
from kam.core.spreadsheet import FORMULA_PREFIXES
from kam.opportunities.models import Status

LANGUAGES = ("zh-hans", "en")


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: str = "text"  # text | choice | money | int | date | bool | ref | dates
    required: bool = False
    choices: type[models.TextChoices] | None = None
    # A hint for the template's second row and the docs: what to write.
    hint: Any = ""

    def header(self, language: str) -> str:
        name = self.zh if language.lower().startswith("zh") else self.en
        return f"{name}*" if self.required else name


@dataclass(frozen=True)
class Kind:
    key: str  # accounts | contacts | opportunities | revenue
    zh: str
    en: str
    columns: tuple[Column, ...]
    # The column holding the stable external key that makes a re-import update, not add.
    key_column: str

    def title(self, language: str) -> str:
        return self.zh if language.lower().startswith("zh") else self.en

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)


C = Column
ACCOUNTS = Kind(
    "accounts",
    "客户",
    "Accounts",
    (
        C("code", "客户编码", "Code", hint=gettext_lazy("your own key, e.g. from the ERP")),
        C("name", "客户名称", "Name", required=True),
        C("owner", "客户经理", "Account manager", "ref", hint=gettext_lazy("login name")),
        C("industry", "行业", "Industry"),
        C("region", "区域", "Region"),
        C("size", "规模", "Size", "choice", choices=Size),
        C("nature", "企业性质", "Ownership nature", "choice", choices=Nature),
        C("account_type", "客户类型", "Account type", "choice", choices=AccountType),
        C("annual_revenue", "年营业额", "Annual revenue", "money"),
        C("collection_cycle_days", "回款周期(天)", "Collection cycle (days)", "int"),
        C("receivables", "应收账款", "Receivables", "money"),
        C("credit_limit", "信用额度", "Credit limit", "money"),
        C("value_positioning", "价值定位匹配度", "Value positioning fit", "int", hint="1-5"),
        C("notes", "备注", "Notes"),
    ),
    key_column="code",
)
CONTACTS = Kind(
    "contacts",
    "联系人",
    "Contacts",
    (
        C("code", "联系人编码", "Code", hint=gettext_lazy("your own key")),
        C("account", "客户", "Account", "ref", required=True, hint=gettext_lazy("code or name")),
        C("name", "姓名", "Name", required=True),
        C("title", "职务", "Title"),
        C("department", "部门", "Department"),
        C("reports_to", "上级", "Reports to", "ref", hint=gettext_lazy("code or name")),
        C("layer", "层级", "Layer", "choice", choices=Layer),
        C("disc", "DISC", "DISC", "choice", choices=Disc),
        C("status", "状态", "Status", "choice", choices=ContactStatus),
        C("is_external", "外部人员", "Outside the account", "bool"),
        C("joined_at", "任职日期", "Took this post on", "date"),
        C("left_at", "离职日期", "Left on", "date"),
        C("phone", "电话", "Phone"),
        C("email", "电子邮件", "E-mail"),
        C("notes", "备注", "Notes"),
    ),
    key_column="code",
)
OPPORTUNITIES = Kind(
    "opportunities",
    "销售机会",
    "Opportunities",
    (
        C("code", "机会编码", "Code", hint=gettext_lazy("your own key")),
        C("account", "客户", "Account", "ref", required=True, hint=gettext_lazy("code or name")),
        C("name", "机会名称", "Name", required=True),
        C("owner", "负责人", "Owner", "ref", hint=gettext_lazy("login name")),
        C("amount", "金额", "Amount", "money", required=True),
        C("currency", "币种", "Currency", hint="CNY"),
        C("expected_close", "预计成交日期", "Expected close", "date", required=True),
        C("playbook", "销售流程", "Playbook", "ref"),
        C("stage", "销售阶段", "Stage", "ref"),
        C(
            "stage_dates",
            "阶段进入日期",
            "Stage entry dates",
            "dates",
            hint=gettext_lazy(
                "the day each stage was entered, first to current; e.g. 2026-01-05; 2026-02-10"
            ),
        ),
        C("buyer_stage", "客户采购阶段", "Buyer stage", "ref"),
        C("status", "状态", "Status", "choice", choices=Status),
        C("closed_on", "结束日期", "Closed on", "date"),
        C("close_reason", "结束原因", "Close reason"),
        C("description", "描述", "Description"),
    ),
    key_column="code",
)
REVENUE = Kind(
    "revenue",
    "历史收入",
    "Revenue",
    (
        C("external_key", "外部编号", "External key", hint=gettext_lazy("the ERP's id")),
        C("account", "客户", "Account", "ref", required=True, hint=gettext_lazy("code or name")),
        C("date", "日期", "Date", "date", required=True),
        C("amount", "收入", "Revenue", "money", required=True),
        C("profit", "利润", "Profit", "money"),
        C("source", "来源", "Source"),
        C("note", "备注", "Note"),
    ),
    key_column="external_key",
)
KINDS: dict[str, Kind] = {k.key: k for k in (ACCOUNTS, CONTACTS, OPPORTUNITIES, REVENUE)}
# The order a workbook's sheets are written in: what others refer to comes first.
ORDER = ("accounts", "contacts", "opportunities", "revenue")


def normalise(header: Any) -> str:
    """A header as compared: no `*`, no spaces, no letter case, full-width brackets
    as ASCII."""
    text = str(header or "").strip().replace("（", "(").replace("）", ")").replace("*", "")
    return re.sub(r"\s+", "", text).casefold()


def header_index(kind: Kind) -> dict[str, str]:
    """Every accepted spelling of a header -> the column key."""
    out: dict[str, str] = {}
    for c in kind.columns:
        for spelling in (c.key, c.zh, c.en):
            out[normalise(spelling)] = c.key
    return out


def kind_for_title(title: Any) -> Kind | None:
    """The kind a sheet's name stands for (客户 / Accounts / accounts), if any."""
    wanted = normalise(title)
    for kind in KINDS.values():
        if wanted in {normalise(kind.key), normalise(kind.zh), normalise(kind.en)}:
            return kind
    return None


def guess_kind(headers: Iterable[Any], *, partial: bool = False) -> Kind | None:
    """The kind whose columns these headers match best (all its required columns
    present), for a CSV whose kind is not given. With `partial` (a CSV: it holds one
    kind), a kind missing a required column counts too, and wins when it matches more
    headers: a file of deals that lacks its amount column is still a file of deals (the
    importer then names the missing column), not one of accounts because Code and Name
    match those too."""
    seen = {normalise(h) for h in headers if h not in (None, "")}
    best: tuple[tuple[int, bool], Kind] | None = None
    for kind in KINDS.values():
        index = header_index(kind)
        keys = {index[h] for h in seen if h in index}
        required = {c.key for c in kind.columns if c.required}
        if not keys or not (partial or required <= keys):
            continue
        score = (len(keys), required <= keys)
        if best is None or score > best[0]:
            best = (score, kind)
    return best[1] if best else None


# --- reading one cell --------------------------------------------------------------------

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
)
_YES = {"1", "yes", "y", "true", "是", "对", "√", "x"}
_NO = {"0", "no", "n", "false", "否", "不", "不是", ""}


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value: Any) -> str:
    """A cell as text: a whole number stays whole (an ERP code 1001 read as 1001.0 by
    Excel is `1001`), dates ISO."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    # KAM's exports write text that a spreadsheet could run ("=…", "+86 …") behind a
    # quote (spreadsheet.safe_cell); reading it back drops that quote.
    if text.startswith("'") and text[1:2] in FORMULA_PREFIXES:
        text = text[1:]
    return text.strip()


def as_date(value: Any) -> dt.date | None:
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = as_text(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # 2026-03-05: most dates
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass  # the patterns below say what is wrong
    text = text.split("T")[0].split(" ")[0] if re.match(r"^\d{4}-\d", text) else text
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                break
    raise ValidationFailed(
        _("“%(value)s” is not a date; write it as YYYY-MM-DD, e.g. 2026-03-05.")
        % {"value": text[:40]}
    )


def as_dates(value: Any) -> list[dt.date]:
    """`2026-01-05; 2026-02-10` (or separated by commas, 、 or new lines) or a date cell."""
    if is_blank(value):
        return []
    if isinstance(value, dt.date):
        return [as_date(value)]  # type: ignore[list-item]
    parts = [p for p in re.split(r"[;；,，、|\n]+", as_text(value)) if p.strip()]
    return [as_date(p.strip()) for p in parts]  # type: ignore[misc]


def as_money(value: Any) -> Decimal | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValidationFailed(_("Enter a number, e.g. 1250000.00."))
    if isinstance(value, float):
        if not abs(value) < 1e14:  # also NaN and infinity: not read as a blank cell
            raise ValidationFailed(_("The amount is too large."))
        # Excel stores numbers as binary floats: 0.1 + 0.2 is what it shows, rounded.
        return Decimal(repr(value)).quantize(Decimal("0.01"))
    if isinstance(value, int):
        return Decimal(value)
    text = as_text(value).replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise ValidationFailed(
            _("“%(value)s” is not an amount; write a number such as 1250000.00.")
            % {"value": as_text(value)[:40]}
        ) from None


def as_int(value: Any) -> int | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValidationFailed(_("Enter a whole number."))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = as_text(value)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    raise ValidationFailed(_("“%(value)s” is not a whole number.") % {"value": text[:40]})


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = as_text(value).casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValidationFailed(
        _("“%(value)s” is not yes or no; write 是 / 否 (or yes / no).") % {"value": text[:40]}
    )


# Shorthand people write in Chinese sheets besides the names KAM shows.
ALIASES: dict[str, dict[str, str]] = {
    "nature": {
        "国有": "soe",
        "国企": "soe",
        "民营": "private",
        "私营": "private",
        "外资": "foreign",
        "外企": "foreign",
        "合资": "jv",
        "事业单位": "public_institution",
    },
    "status": {
        "赢单": "won",
        "成交": "won",
        "中标": "won",
        "丢单": "lost",
        "输单": "lost",
        "放弃": "abandoned",
        "跟进中": "open",
        "active": "active",
        "在职": "active",
        "离职": "left",
    },
}


@functools.cache
def labels(choices: type[models.TextChoices]) -> dict[str, str]:
    """Every accepted spelling of a choice (key, Chinese and English name) -> the key."""
    out: dict[str, str] = {}
    for value, label in zip(choices.values, choices.labels, strict=True):
        out[normalise(value)] = value
        for language in LANGUAGES:
            with translation.override(language):
                out[normalise(str(label))] = value
                # "A – all-out" is also written just "A"; "D – decisive" just "D".
                out.setdefault(normalise(str(label).split("–")[0]), value)
    return out


def as_choice(value: Any, choices: type[models.TextChoices], aliases: str = "") -> str:
    if is_blank(value):
        return ""
    found = labels(choices).get(normalise(as_text(value)))
    if found is None and aliases:
        alias = ALIASES.get(aliases, {}).get(normalise(as_text(value)))
        found = alias if alias in choices.values else None
    if found is None:
        names = ", ".join(str(label) for label in choices.labels)
        raise ValidationFailed(
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": as_text(value)[:40], "choices": names}
        )
    return found


def read_cell(column: Column, value: Any) -> Any:
    """A cell as the type its column holds; a ValidationFailed (without a field: the
    importer names the column) when it cannot be read."""
    if column.kind == "money":
        return as_money(value)
    if column.kind == "int":
        return as_int(value)
    if column.kind == "date":
        return as_date(value)
    if column.kind == "dates":
        return as_dates(value)
    if column.kind == "bool":
        return as_bool(value)
    if column.kind == "choice":
        assert column.choices is not None
        return as_choice(value, column.choices, aliases=column.key)
    return as_text(value)
