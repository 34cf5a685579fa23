"""The whole file as one model, and what only the sections together can tell."""

from __future__ import annotations

from pydantic import Field

from cohort_service.config.amocrm import AmoSettings
from cohort_service.config.email import EmailSettings
from cohort_service.config.fields import Section
from cohort_service.config.plan import PLAN_FIXED_KEYS, PlanEntry
from cohort_service.config.report import ReportSettings
from cohort_service.config.service import DatabaseSettings, ScheduleSettings, ServiceSettings
from cohort_service.config.spend import SpendSettings


class Settings(Section):
    service: ServiceSettings = ServiceSettings()
    amocrm: AmoSettings = AmoSettings()
    database: DatabaseSettings = DatabaseSettings()
    report: ReportSettings = ReportSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    email: EmailSettings | None = None
    spend: SpendSettings = SpendSettings()
    plan: list[PlanEntry] = Field(default_factory=list)

    # Where the settings came from, for messages ("config.toml: ..."); not a TOML key.
    source: str = Field(default="<defaults>", exclude=True)


def cross_problems(settings: Settings, source: str) -> list[str]:
    """Keys that name something elsewhere: names among themselves, targets, spend.dimension, plans."""
    problems = [f"{source}: {line}" for line in settings.report.problems()]
    dims = [d.name for d in settings.report.dimensions]
    if settings.spend.dimension is not None and settings.spend.dimension not in dims:
        known = ", ".join(dims) or "none are configured"
        problems.append(
            f"{source}: spend.dimension: {settings.spend.dimension!r} is not a"
            f" [[report.dimensions]] name ({known})"
        )
    allowed = [*PLAN_FIXED_KEYS, *(m.name for m in settings.report.milestones)]
    months: set[str] = set()
    for i, entry in enumerate(settings.plan):
        if entry.month in months:
            problems.append(f"{source}: plan[{i}].month: {entry.month} is planned twice")
        months.add(entry.month)
        for key in entry.targets:
            if key not in allowed:
                problems.append(f"{source}: plan[{i}].{key}: unknown; use {', '.join(allowed)}")
    return problems
