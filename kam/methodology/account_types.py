"""SPEC §6: the three account types (三类大客户) and the questionnaire that suggests one.

Stub: the model and its pure arithmetic are filled in by that work."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AccountTypeModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
