"""Every Cohorts column is defined twice for the reader: a header note on the sheet, a line on About."""

from __future__ import annotations

import pytest

from cohort_service.schema.cohorts import cohort_about, cohort_header, cohort_notes


@pytest.mark.parametrize(("milestones", "ages"), [(["target", "paid"], [7, 30]), (["paid"], [])])
def test_every_cohorts_column_has_a_note_and_an_about_line(milestones: list[str], ages: list[int]) -> None:
    columns = cohort_header(milestones, ages)
    notes = cohort_notes(milestones, ages)
    about = dict(cohort_about(milestones, ages))
    assert [c for c in columns if not notes.get(c)] == []
    assert [c for c in columns if not about.get(c)] == []
    assert [c for c in columns if c.startswith("Δ at ")] == [f"Δ at {d}d" for d in ages]
    assert "mature" in about["Δ vs prev"] or "mature" in notes["Δ vs prev"]
