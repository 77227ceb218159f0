"""The shape of the methodology files (pydantic, no Django): what a playbook and
the buyer process must contain, with the checks that keep them coherent."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class Text(BaseModel):
    """User-facing text in a data file carries both languages of the UI."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    en: str = Field(min_length=1)
    zh_hans: str = Field(min_length=1, alias="zh-Hans")

    def get(self, language: str | None) -> str:
        return self.zh_hans if (language or "").lower().startswith("zh") else self.en


def repeated(keys: Sequence[str]) -> list[str]:
    """The keys that appear more than once, sorted."""
    return sorted({k for k in keys if keys.count(k) > 1})


def check_unique(keys: Sequence[str], what: str) -> None:
    """Refuse repeated keys, naming them: "<what> keys must be unique; repeated: …"."""
    dupes = repeated(keys)
    if dupes:
        raise ValueError(f"{what} keys must be unique; repeated: {', '.join(dupes)}")


def _check_key(value: str) -> str:
    if not KEY_PATTERN.match(value):
        raise ValueError(
            "must start with a lower-case letter and use only a-z, 0-9, '-' and '_' "
            "(at most 40 characters)"
        )
    return value


class BuyerStage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    seller_work: Text

    _key = field_validator("key")(_check_key)


class BuyerProcess(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stages: list[BuyerStage] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> BuyerProcess:
        keys = [s.key for s in self.stages]
        check_unique(keys, "stage")
        return self

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.stages]

    def index(self, key: str) -> int:
        return self.keys.index(key)


class Criterion(BaseModel):
    """One machine-checkable item of a key node: a check type and its parameters
    (see kam/methodology/checks.py). `label` overrides the check's own wording."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    check: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: Text | None = None
    # [(params, params read)]: read once, kept with the dict read (a model_copy shares it)
    _parsed: list = PrivateAttr(default_factory=list)

    _key = field_validator("key")(_check_key)

    @model_validator(mode="after")
    def _params_fit_the_check(self) -> Criterion:
        from kam.methodology import checks

        try:
            checks.parse_params(self.check, self.params)
        except ValidationError as exc:
            problems = "; ".join(
                f"params.{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            raise ValueError(f"criterion '{self.key}' ({self.check}): {problems}") from None
        except ValueError as exc:
            raise ValueError(f"criterion '{self.key}': {exc}") from None
        return self

    @property
    def parsed(self):
        # Read once: the model is frozen, and every gate check of every deal asks.
        if not self._parsed or self._parsed[0][0] is not self.params:
            from kam.methodology import checks

            self._parsed[:] = [(self.params, checks.parse_params(self.check, self.params))]
        return self._parsed[0][1]


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    main_work: Text
    key_node: Text
    base_probability: float = Field(ge=0, le=1)
    healthy_dwell_days: int = Field(gt=0, le=3650)
    buyer_stages: list[str] = Field(default_factory=list)
    gate: list[Criterion] = Field(default_factory=list)
    # Leaving this stage through its gate wins the deal (the contract is signed).
    wins: bool = False

    _key = field_validator("key")(_check_key)

    @model_validator(mode="after")
    def _unique_criteria(self) -> Stage:
        keys = [c.key for c in self.gate]
        check_unique(keys, "gate criterion")
        if self.wins and not self.gate:
            raise ValueError("a stage that wins the deal needs a gate (e.g. the signed contract)")
        return self


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    default: bool = False
    stages: list[Stage] = Field(min_length=2)

    _key = field_validator("key")(_check_key)

    @model_validator(mode="after")
    def _unique(self) -> Playbook:
        keys = [s.key for s in self.stages]
        check_unique(keys, "stage")
        winning = [s.key for s in self.stages if s.wins]
        if len(winning) > 1:
            raise ValueError(f"only one stage may win the deal; found: {', '.join(winning)}")
        return self

    @property
    def winning_stage(self) -> Stage | None:
        return next((s for s in self.stages if s.wins), None)

    def next_stage(self, key: str) -> Stage | None:
        keys = self.stage_keys
        i = keys.index(key)
        return self.stages[i + 1] if i + 1 < len(keys) else None

    @property
    def first_stage(self) -> Stage:
        return self.stages[0]

    @property
    def stage_keys(self) -> list[str]:
        return [s.key for s in self.stages]

    def stage(self, key: str) -> Stage:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def check_against(self, buyer: BuyerProcess, milestone_kinds: list[str] | None = None) -> None:
        """Every mapped buyer stage must exist, and the mapping must move forward;
        gate criteria may name only known buyer stages and milestone kinds."""
        known = buyer.keys
        last = -1
        for i, stage in enumerate(self.stages):
            for j, criterion in enumerate(stage.gate):
                where = f"stages[{i}] ({stage.key}).gate[{j}] ({criterion.key}).params"
                params = criterion.params
                if criterion.check == "buyer_stage_reached" and params["stage"] not in known:
                    raise ValueError(
                        f"{where}.stage: unknown buyer stage '{params['stage']}'; "
                        f"known: {', '.join(known)}"
                    )
                if criterion.check == "milestone" and milestone_kinds is not None:
                    kinds = params["kind"] if isinstance(params["kind"], list) else [params["kind"]]
                    for kind in kinds:
                        if kind not in milestone_kinds:
                            raise ValueError(
                                f"{where}.kind: unknown milestone '{kind}'; "
                                f"known: {', '.join(milestone_kinds)}"
                            )
            for bkey in stage.buyer_stages:
                if bkey not in known:
                    raise ValueError(
                        f"stages[{i}] ({stage.key}).buyer_stages: unknown buyer stage "
                        f"'{bkey}'; known: {', '.join(known)}"
                    )
                pos = known.index(bkey)
                if pos < last:
                    raise ValueError(
                        f"stages[{i}] ({stage.key}).buyer_stages: '{bkey}' comes before a "
                        "buyer stage mapped to an earlier seller stage; keep the mapping in "
                        "the buyer's order"
                    )
                last = pos


class MilestoneKind(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    # Which of price / margin the record form asks for (a bid has both).
    fields: list[str] = Field(default_factory=list)

    _key = field_validator("key")(_check_key)

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        bad = [f for f in value if f not in ("price", "margin")]
        if bad:
            raise ValueError("fields may list only: price, margin")
        return value


class MilestoneKinds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: list[MilestoneKind] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> MilestoneKinds:
        keys = [k.key for k in self.kinds]
        check_unique(keys, "milestone")
        return self

    @property
    def keys(self) -> list[str]:
        return [k.key for k in self.kinds]

    def get(self, key: str) -> MilestoneKind | None:
        return next((k for k in self.kinds if k.key == key), None)
