"""``[[plan]]``: a month's planned leads, revenue, spend and milestone counts."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
PLAN_FIXED_KEYS = ("leads", "revenue", "spend")


class PlanEntry(BaseModel):
    """``[[plan]]``: a month's targets; any of leads, revenue, spend and milestone names."""

    model_config = ConfigDict(extra="allow", frozen=True)

    month: str

    @field_validator("month")
    @classmethod
    def _month(cls, value: str) -> str:
        if not _MONTH_RE.match(value.strip()):
            raise ValueError("must be a month like 2026-12")
        return value.strip()

    @model_validator(mode="after")
    def _numbers(self) -> PlanEntry:
        for key, value in self.targets.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{key} must be a number of at least 0")
        if not self.targets:
            raise ValueError(f"needs at least one of {', '.join(PLAN_FIXED_KEYS)} or a milestone name")
        return self

    @property
    def targets(self) -> dict[str, float]:
        """What the month plans: key → amount (the TOML keys other than ``month``)."""
        return dict(self.model_extra or {})
