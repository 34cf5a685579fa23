"""``[report]``: the weeks, the funnel (milestones), the dimensions, the targets and the tests' knobs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from cohort_service.config.fields import (
    MAX_AGE_DAYS,
    Section,
    clean_path,
    ids_in_range,
    load_zone,
    names_or_ids,
)
from cohort_service.config.names import check_dimension_name, check_milestone_name, name_clashes
from cohort_service.export.csv_dialect import DialectChoice


class Milestone(Section):
    name: str = Field(min_length=1, max_length=60)
    statuses: list[str | int] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name_chars(cls, value: str) -> str:
        if value.endswith(" at") or any(ch in value for ch in "[]'\"#"):
            raise ValueError("must not end with ' at' or contain [ ] ' \" # (it becomes a column name)")
        return check_milestone_name(value)

    _status_items = field_validator("statuses", mode="before")(names_or_ids("status"))

    @field_validator("statuses")
    @classmethod
    def _no_blank(cls, value: list[str | int]) -> list[str | int]:
        for item in value:
            if isinstance(item, str) and not item.strip():
                raise ValueError("must not contain empty status names")
        return ids_in_range(value)


class Dimension(Section):
    """A column analysts slice by: a custom field by code or name, or a built-in."""

    name: str = Field(min_length=1, max_length=60)
    field: str = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_dimension_name(value)


class Target(Section):
    """Per-step target conversion: for the whole team (the e-mail's anomaly flags) or, with
    ``where``, for one segment (the attention list), e.g. ``where = { manager = "Анна Попова" }``.
    A manager is named by name or amoCRM user id; any other key is ``pipeline`` or a dimension."""

    milestone: str = Field(min_length=1)
    target: float = Field(gt=0, le=1)
    tolerance: float = Field(default=0.1, ge=0, le=1)
    where: dict[str, str | int] = Field(default_factory=dict)

    @field_validator("where")
    @classmethod
    def _where_values(cls, value: dict[str, str | int]) -> dict[str, str | int]:
        for key, item in value.items():
            if isinstance(item, str) and not item.strip():
                raise ValueError(f"{key}: must not be empty")
        return value


class ReportSettings(Section):
    timezone: str | None = None
    weeks: int = Field(default=12, ge=1, le=520)
    pipelines: list[str | int] = Field(default_factory=list)
    age_days: list[int] = Field(default_factory=lambda: [7, 14, 30])
    milestones: list[Milestone] = Field(default_factory=list)
    dimensions: list[Dimension] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)
    attention_weeks: int = Field(default=8, ge=1, le=520)
    attention_min_leads: int = Field(default=30, ge=1)
    attention_fdr: float = Field(default=0.02, gt=0, lt=1)
    anomaly_min_leads: int = Field(default=30, ge=1)
    mature_after_days: int | None = Field(default=None, ge=1, le=MAX_AGE_DAYS)
    forecast_history_weeks: int = Field(default=52, ge=4, le=520)
    out_dir: Path = Path("reports")
    # how report --csv spells its files (export/csv_dialect.py): auto = excel-ru for a Russian zone or locale
    csv_dialect: DialectChoice = "auto"

    _out_dir = field_validator("out_dir")(clean_path)
    _pipeline_items = field_validator("pipelines", mode="before")(names_or_ids("pipeline"))
    _pipeline_ids = field_validator("pipelines")(ids_in_range)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if not value:
            return None
        if load_zone(value) is None:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Moscow)")
        return value

    @field_validator("age_days")
    @classmethod
    def _ages(cls, value: list[int]) -> list[int]:
        if any(day <= 0 for day in value):
            raise ValueError("every age must be a positive number of days")
        if any(day > MAX_AGE_DAYS for day in value):
            raise ValueError(f"every age must be at most {MAX_AGE_DAYS} days (10 years)")
        if len(set(value)) != len(value):
            raise ValueError("must not repeat an age")
        return sorted(value)

    @model_validator(mode="after")
    def _target_segments(self) -> ReportSettings:
        segments = {"manager", "pipeline", *(d.name for d in self.dimensions)}
        bad = sorted({key for t in self.targets for key in t.where if key not in segments})
        if bad:
            raise ValueError(
                f"targets: where names unknown dimensions: {', '.join(bad)}"
                f" (use manager, pipeline or a report.dimensions name)"
            )
        return self

    def problems(self) -> list[str]:
        """What only the names together can tell, one ``report.<key>: …`` line each (run once valid)."""
        milestones = [m.name for m in self.milestones]
        problems = name_clashes(milestones, [d.name for d in self.dimensions])
        for i, target in enumerate(self.targets):
            if target.milestone not in milestones:
                known = ", ".join(milestones) or "none configured"
                name = target.milestone
                problems.append(f"report.targets[{i}].milestone: unknown milestone {name!r} ({known})")
        return problems
