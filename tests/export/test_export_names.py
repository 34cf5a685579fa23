"""Excel's naming rules and the pivot spec's own checks."""

from __future__ import annotations

import pytest

from cohort_service.export.names import (
    check_headers,
    check_sheet_name,
    check_table_name,
    col_letters,
    parse_cell,
    range_ref,
)
from cohort_service.export.pivot import PivotSpec, Value


@pytest.mark.parametrize("name", ["Leads", "Leads_2", "Лиды", "_t", "\\t", "t.x", "ABCD1", "RC1x"])
def test_valid_table_names(name: str) -> None:
    assert check_table_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "1st", "has space", "A1", "xfd1048576", "R1C1", "r", "C", "R2C", "a-b", "x" * 256]
)
def test_invalid_table_names(name: str) -> None:
    with pytest.raises(ValueError, match="invalid Excel table name"):
        check_table_name(name)


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        (["a", "A"], "duplicate table header 'A'"),
        (["a", " "], "invalid table header"),
        (["a\nb"], "invalid table header"),
        ([], "at least one column"),
    ],
)
def test_bad_headers(headers: list[str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_headers(headers)


@pytest.mark.parametrize("name", ["", "x" * 32, "a/b", "a[1]", "'quoted'", "what?"])
def test_invalid_sheet_names(name: str) -> None:
    with pytest.raises(ValueError, match="invalid sheet name"):
        check_sheet_name(name)


def test_cell_references() -> None:
    assert [col_letters(c) for c in (0, 25, 26, 701, 702, 16383)] == ["A", "Z", "AA", "ZZ", "AAA", "XFD"]
    assert range_ref(0, 0, 200, 13) == "A1:N201"
    assert parse_cell("$AB$12") == (11, 27)
    with pytest.raises(ValueError, match="out of Excel's bounds"):
        parse_cell("A1048577")


def spec(**changes: object) -> PivotSpec:
    fields: dict[str, object] = {
        "sheet": "Pivot",
        "source_table": "Leads",
        "name": "Сводная 1",
        "rows": ["cohort_week"],
        "values": [Value("lead_id", "count", "Leads")],
        "filters": ["manager", "source"],
    }
    fields.update(changes)
    return PivotSpec(**fields)  # type: ignore[arg-type]


def test_pivot_location_defaults_below_the_filters() -> None:
    assert spec().origin == (3, 0)  # two filter rows, one blank row, body at A4
    assert spec(filters=[]).origin == (0, 0)
    assert spec(location="C10").origin == (9, 2)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"location": "A3"}, "2 filters need the body to start at row 4"),
        ({"rows": ["manager"]}, "a field may sit on only one of rows/columns/filters"),
        ({"values": []}, "needs at least one value"),
        ({"values": [Value("a"), Value("b", caption="Sum of a")]}, "value captions must be unique"),
        ({"name": ""}, "invalid pivot name"),
    ],
)
def test_pivot_spec_refuses(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        spec(**changes)


def test_value_function_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown pivot function 'median'"):
        Value("price", "median")  # type: ignore[arg-type]
    assert Value("price", "average").label == "Average of price"
    assert Value("lead_id", "count").label == "Count of lead_id"
