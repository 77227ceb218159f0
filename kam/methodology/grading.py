"""SPEC §6: the value pyramid and the multi-indicator grade (客户分级).

Stub: the model and its pure arithmetic are filled in by that work."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class GradingModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
