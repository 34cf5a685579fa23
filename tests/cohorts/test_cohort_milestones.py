"""Milestones from config: levels per status (DESIGN §5 rules) and the ConfigError texts."""

from __future__ import annotations

from typing import Any

import pytest

from cohort_service.cohorts.catalog import Catalog, Status
from cohort_service.cohorts.dimensions import resolve_dimensions
from cohort_service.cohorts.milestones import Funnel, resolve_funnel
from cohort_service.config import ReportSettings
from cohort_service.errors import ConfigError
from tests.cohorts.rows import MILESTONES, PARTNERS, PIPELINES, SALES


def catalog(extra: list[Status] | None = None) -> Catalog:
    statuses: dict[tuple[int, int], Status] = {}
    for pid, (pname, rows) in PIPELINES.items():
        for sid, name, sort, kind in [
            *rows,
            (142, "Успешно реализовано", 10000, 0),
            (143, "Закрыто", 11000, 0),
        ]:
            statuses[(pid, sid)] = Status(pid, sid, name, sort, kind, pname)
    for status in extra or []:
        statuses[status.key] = status
    return Catalog(pipelines={pid: name for pid, (name, _) in PIPELINES.items()}, statuses=statuses)


def funnel(
    milestones: list[dict[str, Any]] = MILESTONES, cat: Catalog | None = None, **report: Any
) -> Funnel:
    settings = ReportSettings.model_validate({"milestones": milestones, **report})
    return resolve_funnel(settings, cat or catalog(), source="config.toml")


def problems(**report: Any) -> list[str]:
    with pytest.raises(ConfigError) as err:
        funnel(**report)
    return err.value.problems


def test_levels_follow_sort_within_each_pipeline() -> None:
    """Later statuses reach a milestone by sort; 142 reaches all; 143 and Unsorted reach nothing."""
    levels = funnel().levels
    assert {sid: levels[(SALES, sid)] for sid in (100, 101, 102, 103, 104, 105, 142, 143)} == {
        100: 0,
        101: 0,
        102: 1,
        103: 2,
        104: 2,
        105: 3,
        142: 4,
        143: 0,
    }
    # Партнёры has no "Целевой": its Квалификация is level 2 (target counts through the funnel rule).
    assert {sid: levels[(PARTNERS, sid)] for sid in (200, 201, 203, 205, 142, 143)} == {
        200: 0,
        201: 0,
        203: 2,
        205: 3,
        142: 4,
        143: 0,
    }


def test_pipeline_without_the_statuses_reaches_only_through_won() -> None:
    """A milestone named as "Воронка/КП отправлено" is out of reach in Партнёры except by 142."""
    levels = funnel(
        [
            {"name": "target", "statuses": ["Воронка/Целевой"]},
            {"name": "proposal", "statuses": ["Воронка/КП отправлено"]},
        ]
    ).levels
    assert levels[(SALES, 105)] == 2
    assert levels[(PARTNERS, 205)] == 0
    assert levels[(PARTNERS, 142)] == 2


def test_ids_names_and_pipeline_paths_resolve_alike() -> None:
    by_id = funnel([{"name": "q", "statuses": [103, 203]}])
    by_name = funnel([{"name": "q", "statuses": ["квалификация"]}])  # case does not matter
    by_path = funnel([{"name": "q", "statuses": ["Воронка/Квалификация", "Партнёры/Квалификация"]}])
    assert by_id.levels == by_name.levels == by_path.levels
    assert by_name.milestones[0].describe() == "Воронка/Квалификация, Партнёры/Квалификация"


def test_unknown_status_lists_what_exists() -> None:
    found = problems(
        milestones=[
            {"name": "target", "statuses": ["Целевой"]},
            {"name": "qualified", "statuses": ["Квалифекация"]},
        ]
    )
    assert len(found) == 1
    assert found[0].startswith(
        "config.toml: report.milestones[1].statuses: unknown status 'Квалифекация'; did you mean "
        "'Квалификация'?; statuses that exist: "
        "Воронка/Встреча, Воронка/КП отправлено, Воронка/Квалификация, Воронка/Новая, Воронка/Целевой, "
        "Партнёры/КП отправлено"
    )


def test_ambiguous_name_within_one_pipeline() -> None:
    twin = Status(SALES, 106, "Встреча", 55, 0, "Воронка")
    with pytest.raises(ConfigError) as err:
        funnel([{"name": "meeting", "statuses": ["Встреча"]}], cat=catalog([twin]))
    assert err.value.problems == [
        "config.toml: report.milestones[0].statuses: status 'Встреча' is ambiguous in pipeline 'Воронка' "
        "(ids 104, 106); name it by id"
    ]


def test_lost_unsorted_unknown_id_and_no_milestones() -> None:
    assert problems(milestones=[{"name": "x", "statuses": [143, "Неразобранное", 999]}]) == [
        "config.toml: report.milestones[0].statuses: 143 is lost (143), which reaches no milestone",
        "config.toml: report.milestones[0].statuses: 'Неразобранное' is Unsorted (Воронка/Неразобранное, "
        "Партнёры/Неразобранное), which reaches no milestone",
        "config.toml: report.milestones[0].statuses: unknown status 999; statuses that exist: "
        "Воронка/Встреча, Воронка/КП отправлено, Воронка/Квалификация, Воронка/Новая, Воронка/Целевой, "
        "Партнёры/КП отправлено, Партнёры/Квалификация, Партнёры/Новая",
    ]
    with pytest.raises(ConfigError) as err:
        funnel([])
    assert err.value.problems == ["config.toml: report.milestones: at least one milestone is required"]


def test_nothing_synced_says_so() -> None:
    with pytest.raises(ConfigError) as err:
        funnel(cat=Catalog())
    assert "no statuses are synced yet (run `cohort-service sync` first)" in err.value.problems[0]


def test_pipelines_filter() -> None:
    assert funnel(pipelines=["Партнёры", SALES]).pipeline_ids == (SALES, PARTNERS)
    assert funnel().pipeline_ids is None
    assert problems(milestones=MILESTONES, pipelines=["Опт"]) == [
        "config.toml: report.pipelines[0]: unknown pipeline 'Опт'; pipelines that exist: Воронка, Партнёры"
    ]


def test_dimension_errors() -> None:
    settings = ReportSettings.model_validate(
        {
            "milestones": MILESTONES,
            "dimensions": [{"name": "src", "field": "utm_campaign"}, {"name": "won", "field": "tags"}],
        }
    )
    with pytest.raises(ConfigError) as err:
        resolve_dimensions(settings, Catalog(), source="config.toml")
    assert err.value.problems == [
        "config.toml: report.dimensions[1].name: 'won' is already a report column; rename it",
        "config.toml: report.dimensions[0].field: unknown custom field 'utm_campaign'; "
        "no lead custom fields are synced yet (run `cohort-service sync` first)",
    ]
