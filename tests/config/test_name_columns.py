"""The config's clash check knows every column a milestone or dimension name makes.

config/names.py lists them by hand (importing the table declarations would cost every command a
second of pandas); this compares that list with what cohort_service.schema declares, so a column
added there without the check learning it fails here."""

from __future__ import annotations

from cohort_service.config.names import final_columns, milestone_columns
from cohort_service.schema.cohorts import cohort_header
from cohort_service.schema.leads import RowContext, leads_header


def _named_after(header: list[str], names: list[str]) -> set[str]:
    return {column for column in header if any(name in column for name in names)}


def test_cohorts_columns_named_after_milestones_are_all_known() -> None:
    milestones = ["Альфа", "Бета", "Гамма"]
    declared = _named_after(cohort_header(milestones, [7, 30]), milestones)
    known = {c for m in milestones for c in milestone_columns(m)[1]} | set(final_columns("Гамма"))
    assert declared == known


def test_leads_columns_named_after_milestones_and_dimensions_are_all_known() -> None:
    milestones, dimensions = ["Альфа", "Бета"], ["Дельта"]
    ctx = RowContext(tuple(milestones), tuple(dimensions), "UTC", facts=frozenset({"cost"}))
    declared = _named_after(leads_header(ctx), [*milestones, *dimensions])
    known = {c for m in milestones for c in milestone_columns(m)[0]} | set(dimensions)
    assert declared == known
