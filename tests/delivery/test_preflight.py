"""The report config against the live account: doctor, and sync before its first long pull."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from cohort_service.amocrm.client import build_client
from cohort_service.app.doctor import check_amocrm
from cohort_service.app.preflight import before_sync, config_problems, live_catalog
from cohort_service.cohorts.suggest import closest
from cohort_service.config import settings_from_mapping
from cohort_service.errors import ConfigError
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.server import serve
from cohort_service.simulator.snippet import config_snippet
from tests.conftest import make_settings

# seed 3: the main pipeline has Квалификация … Отправлено КП …; fields UTM_SOURCE, Продукт
WRONG = {
    "milestones": [
        {"name": "qualified", "statuses": ["Квалификацыя"]},
        {"name": "proposal", "statuses": ["КП отправлено"]},
        {"name": "paid", "statuses": [142]},
    ],
    "dimensions": [{"name": "source", "field": "UTM_SOURSE"}, {"name": "product", "field": "Продукт"}],
    "pipelines": ["Основная ворнка"],
}


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[SimulatorApp, str]]:
    app = SimulatorApp(generate_account(seed=3, leads=20, weeks=2), limits=Limits(rps=None))
    with serve(app) as url:
        yield app, url


def test_closest_names_ignore_case_spacing_and_word_order() -> None:
    names = ["Квалификация", "Отправлено КП", "Переговоры"]
    assert closest("КП  отправлено", names) == ["Отправлено КП"]
    assert closest("квалификацыя", names) == ["Квалификация"]
    assert closest("Целевой", names) == []


def test_wrong_names_are_listed_with_suggestions_from_the_account(sim: tuple[SimulatorApp, str]) -> None:
    app, url = sim
    settings = make_settings(amocrm={"base_url": url, "token": app.issue_token()}, report=WRONG)
    with build_client(settings) as client:
        problems = config_problems(settings, live_catalog(client))
    assert len(problems) == 4
    assert "unknown status 'Квалификацыя'; did you mean 'Квалификация'?" in problems[0]
    assert "unknown status 'КП отправлено'; did you mean 'Отправлено КП'?" in problems[1]
    assert "unknown pipeline 'Основная ворнка'; did you mean 'Основная воронка'?" in problems[2]
    assert "unknown custom field 'UTM_SOURSE'; did you mean 'UTM_SOURCE'" in problems[3]
    assert all(p.startswith("test: report.") for p in problems)


def test_doctor_names_the_wrong_report_names(sim: tuple[SimulatorApp, str]) -> None:
    app, url = sim
    checks = check_amocrm(make_settings(amocrm={"base_url": url, "token": app.issue_token()}, report=WRONG))
    last = checks[-1]
    assert (last.name, last.ok) == ("report names exist in amoCRM", False)
    assert "did you mean 'Квалификация'?" in last.detail
    assert "(+1 more)" in last.detail


def test_first_sync_stops_before_pulling_when_the_names_are_wrong(
    sim: tuple[SimulatorApp, str], db_url: str
) -> None:
    app, url = sim
    settings = make_settings(db_url, amocrm={"base_url": url, "token": app.issue_token()}, report=WRONG)
    before = app.requests_seen
    with pytest.raises(ConfigError) as caught:
        before_sync(settings)
    assert caught.value.exit_code == 2
    assert "did you mean 'Отправлено КП'?" in str(caught.value)
    paths = [r.path for r in app.log.records()[before:]]
    assert paths == ["/api/v4/leads/pipelines", "/api/v4/leads/custom_fields"]  # no lead was pulled


def test_the_simulators_config_snippet_resolves_against_its_account(sim: tuple[SimulatorApp, str]) -> None:
    app, url = sim
    token = app.issue_token()
    snippet = config_snippet(app.account, base_url=url, auth={"token": token})
    data: dict[str, Any] = tomllib.loads(snippet)
    assert data["amocrm"] == {"base_url": url, "requests_per_second": 7, "token": token}
    assert [m["name"] for m in data["report"]["milestones"]][-1] == "Продажа"
    settings = settings_from_mapping(data, source="snippet", env={})
    with build_client(settings) as client:
        assert config_problems(settings, live_catalog(client)) == []
