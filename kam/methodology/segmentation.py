"""SPEC §6: the industrial segmentation variables and the segment scoring criteria (市场细分).

Stub: the model and its pure arithmetic are filled in by that work."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SegmentationModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
