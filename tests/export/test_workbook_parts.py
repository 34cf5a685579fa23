"""Pure pieces of the workbook writer: where the Leads table splits, how frame values become cells,
and which cohort is the latest mature one."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.milestones import MilestoneDef
from cohort_service.cohorts.model import CohortReport, build_report
from cohort_service.export.cells import plain
from cohort_service.export.leads_table import column_values, leads_columns, leads_rows, plan_parts
from cohort_service.export.sheets_maturation import latest_mature
from cohort_service.schema.leads import RowContext

W1, W2, W3 = (pd.Timestamp(f"2024-01-{d:02d}") for d in (1, 8, 15))


def weeks(*sizes: int) -> pd.Series:
    return pd.Series(np.repeat([W1, W2, W3][: len(sizes)], sizes))


@pytest.mark.parametrize(
    ("sizes", "capacity", "parts"),
    [
        ((3, 2, 1), 10, [(0, 6)]),  # fits: one part
        ((3, 2, 1), 3, [(0, 3), (3, 6)]),  # week 1 alone, weeks 2+3 together
        ((3, 2, 1), 5, [(0, 5), (5, 6)]),
        ((2, 2, 2), 3, [(0, 2), (2, 4), (4, 6)]),  # never half a week when whole weeks fit
        ((7, 1), 3, [(0, 3), (3, 6), (6, 8)]),  # a week bigger than a sheet is cut at capacity
        ((1, 7), 3, [(0, 1), (1, 4), (4, 7), (7, 8)]),
        ((), 3, [(0, 0)]),
    ],
)
def test_plan_parts_cuts_between_weeks(
    sizes: tuple[int, ...], capacity: int, parts: list[tuple[int, int]]
) -> None:
    assert plan_parts(weeks(*sizes), capacity) == parts


def test_frame_values_become_typed_cells_and_blanks_become_none() -> None:
    frame = pd.DataFrame(
        {
            "lead_id": pd.Series([1, 2], dtype="int64"),
            "cohort_week": [W1, W2],
            "created_at": pd.to_datetime(["2024-01-01 09:30:15.250", "2024-01-09 10:00:00.000"]),
            "manager": pd.Series(["Анна", None], dtype=object),
            "source": pd.Series(["Яндекс", None], dtype="str"),
            "target": pd.Series([1, 0], dtype="int64"),
            "target at": pd.to_datetime(["2024-01-02 12:00", None]),
            "price": [1500.5, np.nan],
            "lost from stage": pd.Series([None, "target"], dtype=object),
        }
    )
    columns = leads_columns(frame, RowContext(("target",), ("source",), "UTC"))
    assert [c.kind for c in columns] == [
        "int", "iso_date", "iso_datetime", "text", "text", "flag", "iso_datetime", "amount", "text"
    ]  # fmt: skip
    rows = list(leads_rows(frame, columns, chunk_rows=1))
    assert rows == [
        (1, date(2024, 1, 1), datetime(2024, 1, 1, 9, 30, 15, 250000), "Анна", "Яндекс", 1,  # noqa: DTZ001
         datetime(2024, 1, 2, 12, 0), 1500.5, None),  # noqa: DTZ001
        (2, date(2024, 1, 8), datetime(2024, 1, 9, 10, 0), None, None, 0, None, None, "target"),  # noqa: DTZ001
    ]  # fmt: skip
    assert all(type(v) in (int, float, str, date, datetime, type(None)) for row in rows for v in row)


def test_nullable_integers_keep_numbers_and_blanks() -> None:
    assert column_values(pd.Series([3, None], dtype="Int64"), "int") == [3.0, None]


def test_aware_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zones"):
        column_values(pd.Series(pd.to_datetime(["2024-01-01 10:00"], utc=True)), "datetime")


@pytest.mark.parametrize(
    "value", [None, float("nan"), np.nan, pd.NaT, pd.NA, float("inf"), np.float64("nan")]
)
def test_every_blank_is_none(value: object) -> None:
    assert plain(value) is None


def test_plain_unwraps_numpy_and_pandas_values() -> None:
    assert plain(np.int64(7)) == 7
    assert type(plain(np.int64(7))) is int
    assert plain(pd.Timestamp("2024-01-01 10:00")) == datetime(2024, 1, 1, 10, 0)  # noqa: DTZ001


# Latest mature cohort ------------------------------------------------------------------------

TZ = "Europe/Moscow"
PAID = MilestoneDef(position=1, name="paid", statuses=())


def report_at(as_of: datetime, ages: tuple[int, ...], lead_weeks: list[date]) -> CohortReport:
    """A report over weeks 1, 8, 15 and 22 January 2024 with one unconverted lead per listed week."""
    tz = ZoneInfo(TZ)
    created = [datetime.combine(w, datetime.min.time(), tzinfo=tz) + timedelta(hours=10) for w in lead_weeks]
    facts = pd.DataFrame(
        {
            "lead_id": range(1, len(created) + 1),
            "cohort_week": pd.to_datetime(lead_weeks),
            "created_at": pd.to_datetime([c.astimezone(UTC) for c in created]),
            "won": False, "lost": False, "revenue": 0.0, "price": 0.0, "days_to_final": np.nan,
            "at_1": pd.Series(pd.NaT, index=range(len(created)), dtype="datetime64[us, UTC]"),
            "imputed_1": False, "changes": 0, "unknown_initial": False, "unknown_status": False,
            col.LOSS_REASON: None, col.MANAGER: "Анна", col.PIPELINE: "Воронка",
        }
    )  # fmt: skip
    report_weeks = [date(2024, 1, 1) + timedelta(weeks=i) for i in range(4)]
    return build_report(facts, as_of=as_of, timezone=TZ, weeks=report_weeks, milestones=[PAID], ages=ages)


AS_OF = datetime(2024, 1, 24, 12, 0, tzinfo=ZoneInfo(TZ))  # a Wednesday: week 22.01 is partial


@pytest.mark.parametrize(
    ("ages", "lead_weeks", "expected"),
    [
        ((), [date(2024, 1, 15), date(2024, 1, 22)], 2),  # no ages: the newest complete week with leads
        ((7,), [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15)], 1),  # 08.01 + 14 days ≤ A; 15.01 not
        ((14,), [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15)], 0),  # 01.01 + 21 days ≤ A
        ((7, 30), [date(2024, 1, 1), date(2024, 1, 8)], None),  # the longest age decides: none old enough
        ((7,), [date(2024, 1, 15), date(2024, 1, 22)], None),  # mature weeks without leads do not count
    ],
)
def test_latest_mature_cohort(ages: tuple[int, ...], lead_weeks: list[date], expected: int | None) -> None:
    assert latest_mature(report_at(AS_OF, ages, lead_weeks)) == expected


def test_mature_exactly_at_the_moment() -> None:
    """Week 08.01 with ≤7d becomes comparable at 22.01 00:00 local, the moment its ≤7d % appears."""
    report = report_at(datetime(2024, 1, 22, 0, 0, tzinfo=ZoneInfo(TZ)), (7,), [date(2024, 1, 8)])
    assert latest_mature(report) == 1
    assert not pd.isna(report.cohorts[col.equal_age(7)].iloc[1])
    earlier = dataclasses.replace(report, as_of=datetime(2024, 1, 21, 23, 59, tzinfo=ZoneInfo(TZ)))
    assert latest_mature(earlier) is None
