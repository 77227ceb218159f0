"""The shape of the methodology files (pydantic, no Django): what a playbook and
the buyer process must contain, with the checks that keep them coherent."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class Text(BaseModel):
    """User-facing text in a data file carries both languages of the UI."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    en: str = Field(min_length=1)
    zh_hans: str = Field(min_length=1, alias="zh-Hans")

    def get(self, language: str | None) -> str:
        return self.zh_hans if (language or "").lower().startswith("zh") else self.en


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
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"stage keys must be unique; repeated: {', '.join(dupes)}")
        return self

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.stages]

    def index(self, key: str) -> int:
        return self.keys.index(key)


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    main_work: Text
    key_node: Text
    base_probability: float = Field(ge=0, le=1)
    healthy_dwell_days: int = Field(gt=0, le=3650)
    buyer_stages: list[str] = Field(default_factory=list)

    _key = field_validator("key")(_check_key)


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
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"stage keys must be unique; repeated: {', '.join(dupes)}")
        return self

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

    def check_against(self, buyer: BuyerProcess) -> None:
        """Every mapped buyer stage must exist, and the mapping must move forward."""
        known = buyer.keys
        last = -1
        for i, stage in enumerate(self.stages):
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
