"""Per-manager funnel shapes: each step against the rest at equal age, a name only when it fits."""

from __future__ import annotations

import pytest

from cohort_service.cohorts import attention as att
from cohort_service.cohorts.attention_shape import (
    ALL_BELOW,
    TOP_LOSES,
    TOP_WINS,
    funnel_shapes,
    mark,
    rate,
    shape_name,
    team_rate,
)
from tests.cohorts.synthetic import Account, Plant, facts

MILESTONES = ("target", "qualified", "proposal", "paid")


@pytest.mark.parametrize(
    ("marks", "name"),
    [
        (["below", "", "above", ""], TOP_LOSES),
        (["", "above", "", "below"], TOP_WINS),
        (["below", "", "", "below"], ALL_BELOW),
        (["below", "", "", ""], ""),  # one mark is a step, not a shape
        (["below", "above", "below", ""], ""),  # mixed: no name reads naturally
        (["", "", "", ""], ""),
    ],
)
def test_shape_names(marks: list[str], name: str) -> None:
    assert shape_name(marks) == name


def test_planted_shapes_are_marked_and_named() -> None:
    acct = Account(
        per_week=1500,
        rates=(0.6, 0.5, 0.4, 0.5),
        plants=(
            Plant("manager", "M2", step=1, factor=0.5),  # loses at the top …
            Plant("manager", "M2", step=4, factor=1.6),  # … and closes well
            Plant("manager", "M5", step=2, factor=1.5),  # opens well …
            Plant("manager", "M5", step=4, factor=0.4),  # … and closes poorly
        ),
    )
    frame = facts(acct, 21)
    rules = att.AttentionRules(mature_days=14)
    window = att.windows_for(acct.mondays, acct.as_of, 14, rules.weeks)[0]
    shapes = funnel_shapes(
        frame,
        milestones=MILESTONES,
        segmentation=att.Segmentation("manager", "manager"),
        window=window,
        rules=rules,
    ).set_index("manager")
    assert shapes.loc["M2", "shape"] == TOP_LOSES
    assert shapes.loc["M5", "shape"] == TOP_WINS
    assert (shapes.loc["M2", mark("target")], shapes.loc["M2", mark("paid")]) == ("below", "above")
    assert shapes.loc["M2", rate("target")] == pytest.approx(0.3, abs=0.04)
    assert shapes.loc["M2", team_rate("target")] == pytest.approx(0.6, abs=0.03)
    untouched = shapes.drop(index=["M2", "M5"])
    assert set(untouched["shape"]) == {""}
    # Leads: every lead of the window once.
    assert shapes["leads"].sum() == len(window.weeks) * acct.per_week


def test_no_window_no_rows() -> None:
    by_manager = att.Segmentation("manager", "manager")
    shapes = funnel_shapes(
        facts(Account(weeks=2), 1), milestones=MILESTONES[:3], segmentation=by_manager, window=None,
        rules=att.AttentionRules(),
    )  # fmt: skip
    assert shapes.empty
    assert list(shapes.columns)[:3] == ["manager", "leads", "target %"]
