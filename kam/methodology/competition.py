"""SPEC §6: the competitor scoring table (竞争对手分析表): criteria, scoring descriptions, weights.

Stub: the model and its pure arithmetic are filled in by that work."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CompetitionModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
