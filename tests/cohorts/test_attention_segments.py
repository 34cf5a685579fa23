"""Segment targets: managers by name or id, the namesake rule, and the config keys."""

from __future__ import annotations

import pandas as pd
import pytest

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.attention_segments import manager_segments, resolve_targets
from cohort_service.cohorts.catalog import Catalog
from cohort_service.config import Target, settings_from_mapping
from cohort_service.errors import ConfigError

# Two users called Иван Лебедев (ids 11 and 12), one Анна Попова (13), one with no leads (14).
CATALOG = Catalog(
    users={11: "Иван Лебедев", 12: "Иван Лебедев", 13: "Анна Попова", 14: "Олег Орлов"},
    pipelines={7: "Основная"},
)


def leads(manager_ids: list[int | None]) -> pd.DataFrame:
    ids = pd.Series(manager_ids, dtype="Int64")
    names = [CATALOG.users[i] if i is not None else "(no manager)" for i in manager_ids]
    return pd.DataFrame({"manager_id": ids, col.MANAGER: names})


def target(**where: str | int) -> Target:
    return Target(milestone="proposal", target=0.4, tolerance=0.1, where=where)


def test_a_shared_name_is_accepted_when_one_namesake_has_leads() -> None:
    facts = leads([11, 13, 13, None])
    (resolved,) = resolve_targets([target(manager="Иван Лебедев")], facts, CATALOG, source="c.toml")
    assert resolved.where == (("manager", "Иван Лебедев"),)
    assert (resolved.milestone, resolved.target, resolved.tolerance) == ("proposal", 0.4, 0.1)


def test_a_shared_name_with_both_namesakes_active_is_a_config_error_listing_ids() -> None:
    facts = leads([11, 12, 13])
    with pytest.raises(ConfigError) as caught:
        resolve_targets([target(manager="иван лебедев")], facts, CATALOG, source="c.toml")
    (line,) = caught.value.problems
    assert line == (
        "c.toml: report.targets[0].where.manager: 2 users are named 'иван лебедев' (ids 11, 12) and "
        "2 of them have leads in the report; write manager = <id>"
    )


def test_a_shared_name_with_no_active_namesake_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"\(ids 11, 12\) and none of them has leads"):
        resolve_targets([target(manager="Иван Лебедев")], leads([13]), CATALOG, source="c.toml")


def test_namesakes_with_leads_are_told_apart_and_an_id_picks_one() -> None:
    facts = leads([11, 12, 13])
    assert manager_segments(facts).tolist() == ["Иван Лебедев (id 11)", "Иван Лебедев (id 12)", "Анна Попова"]
    (by_id,) = resolve_targets([target(manager=12)], facts, CATALOG, source="c.toml")
    assert by_id.where == (("manager", "Иван Лебедев (id 12)"),)
    (by_text_id,) = resolve_targets([target(manager="13")], facts, CATALOG, source="c.toml")
    assert by_text_id.where == (("manager", "Анна Попова"),)


def test_unknown_managers_and_every_problem_are_reported_together() -> None:
    facts = leads([13])
    wanted = [target(manager="Никто"), target(manager=999), target(source="vk")]
    with pytest.raises(ConfigError) as caught:
        resolve_targets(wanted, facts, CATALOG, source="c.toml")
    assert caught.value.problems == [
        "c.toml: report.targets[0].where.manager: no user named 'Никто' (managers with leads: Анна Попова)",
        "c.toml: report.targets[1].where.manager: no user with id 999",
    ]


def test_team_targets_stay_out_and_other_dimensions_pass_through() -> None:
    facts = leads([13])
    team = Target(milestone="proposal", target=0.4)
    resolved = resolve_targets([team, target(source=" vk "), target(pipeline=7)], facts, CATALOG, source="c")
    assert [t.where for t in resolved] == [(("source", "vk"),), (("pipeline", "Основная"),)]


def test_config_keys_and_an_unknown_where_dimension() -> None:
    base = {"report": {"milestones": [{"name": "proposal", "statuses": ["КП"]}]}}
    settings = settings_from_mapping(base, source="c.toml", env={})
    report = settings.report
    assert (report.attention_weeks, report.attention_min_leads, report.attention_fdr) == (8, 30, 0.02)
    bad = {"report": {**base["report"], "targets": [{"milestone": "proposal", "target": 0.4,
                                                      "where": {"region": "north"}}]}}  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(bad, source="c.toml", env={})
    assert caught.value.problems == [
        "c.toml: report: targets: where names unknown dimensions: region "
        "(use manager, pipeline or a report.dimensions name)"
    ]
