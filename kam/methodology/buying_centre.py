"""The buying-centre model (采购组织, SPEC §4) as data: which roles are the key
persons at each buyer stage, how many sources verify an intelligence item, and how
to approach each DISC type. Read from models/buying_centre.toml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kam.methodology.checks import ROLES
from kam.methodology.schema import Text

DISC_TYPES = ("D", "I", "S", "C")


class DiscType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Text
    approach: Text


class BuyingCentreModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources_to_verify: int = Field(2, ge=1, le=10)
    key_roles: dict[str, list[str]] = Field(default_factory=dict)
    disc: dict[str, DiscType]

    @field_validator("key_roles")
    @classmethod
    def _roles(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for stage, roles in value.items():
            bad = [r for r in roles if r not in ROLES]
            if bad:
                raise ValueError(
                    f"key_roles.{stage}: unknown role '{bad[0]}'; use any of: {', '.join(ROLES)}"
                )
        return {stage: [r for r in ROLES if r in roles] for stage, roles in value.items()}

    @model_validator(mode="after")
    def _all_disc_types(self) -> BuyingCentreModel:
        missing = [t for t in DISC_TYPES if t not in self.disc]
        extra = [t for t in self.disc if t not in DISC_TYPES]
        if missing or extra:
            raise ValueError(
                f"disc: describe exactly the types {', '.join(DISC_TYPES)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else "")
            )
        return self

    def check_against(self, buyer_stages: list[str]) -> None:
        unknown = [s for s in self.key_roles if s not in buyer_stages]
        if unknown:
            raise ValueError(
                f"key_roles.{unknown[0]}: not a buyer stage; use any of: {', '.join(buyer_stages)}"
            )

    def key_roles_at(self, buyer_stage: str) -> tuple[str, ...]:
        return tuple(self.key_roles.get(buyer_stage, ()))
