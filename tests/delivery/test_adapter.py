"""The e-mail headline from a real CohortReport: simulator → sync → cohort engine → headline."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from cohort_service.app.demo import funnel_of
from cohort_service.app.outputs import headline_from_report
from cohort_service.app.report import ReportRequest, build_cohort_report
from cohort_service.cohorts import columns as col
from cohort_service.cohorts.model import CohortReport
from cohort_service.cohorts.sameage import step_counts, week_offsets
from cohort_service.cohorts.weeks import local_midnight
from cohort_service.config import Settings
from cohort_service.delivery.headline import render_text
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.model import SimAccount
from cohort_service.simulator.server import serve
from cohort_service.sync.runner import run_sync
from tests.conftest import make_settings

AS_OF = date(2026, 11, 8)  # a Sunday: the last row is a complete week


@pytest.fixture(scope="module")
def account() -> Iterator[tuple[SimAccount, str, str]]:
    sim = generate_account(seed=21, leads=600, weeks=12)
    app = SimulatorApp(sim, limits=Limits(rps=None))
    with serve(app) as url:
        yield sim, url, app.oauth.issue_long_lived()


def _report(
    db_url: str, account: tuple[SimAccount, str, str], **report: object
) -> tuple[Settings, CohortReport]:
    sim, url, token = account
    settings = make_settings(
        db_url,
        amocrm={"base_url": url, "token": token, "requests_per_second": 50},
        report={"timezone": sim.timezone, "weeks": 10, "milestones": funnel_of(sim), "age_days": [7, 30]}
        | report,
    )
    run_sync(settings)
    return settings, build_cohort_report(settings, ReportRequest(as_of=AS_OF))


def test_headline_rows_are_the_reports_last_six_cohorts(
    db_url: str, account: tuple[SimAccount, str, str]
) -> None:
    settings, report = _report(db_url, account)
    headline = headline_from_report(report, settings)
    tail = report.cohorts.tail(6).reset_index(drop=True)
    assert [row.label for row in headline.rows] == list(tail[col.COHORT])
    assert [row.leads for row in headline.rows] == list(tail[col.LEADS])
    first = report.milestone_names[0]
    for row, (_, record) in zip(headline.rows, tail.iterrows(), strict=True):
        expected = record[col.step_pct(first)]
        assert row.steps[0] == (None if math.isnan(expected) else pytest.approx(expected))
    assert headline.rows[-1].week_start == date(2026, 11, 2)
    assert not headline.rows[-1].partial
    assert headline.as_of == report.as_of
    assert "Lead cohorts as of 08.11.2026 23:59 (Europe/Moscow)" in render_text(headline)


def test_each_cohorts_curve_at_its_own_age_is_its_reported_steps(
    db_url: str, account: tuple[SimAccount, str, str]
) -> None:
    """The per-lead offsets the same-age flags use reproduce the Cohorts table at each cohort's age."""
    settings, report = _report(db_url, account)
    del settings
    tz = ZoneInfo(report.timezone)
    offsets = week_offsets(report.facts, report.weeks, milestones=len(report.milestones), tz=tz)
    names = report.milestone_names
    for _, record in report.cohorts.iterrows():
        week = record[col.COHORT_WEEK].date()
        age_s = (report.as_of - local_midnight(week, tz)).total_seconds()
        counts = [step_counts(offsets[week], age_s, k) for k in range(1, len(names) + 1)]
        expected = [record[col.step_pct(name)] for name in names]
        got = [x / n if n else None for x, n in counts]
        assert [None if math.isnan(v) else pytest.approx(v) for v in expected] == got
        assert offsets[week].shape == (record[col.LEADS], len(names))


def test_a_missed_target_is_red(db_url: str, account: tuple[SimAccount, str, str]) -> None:
    """Target 100 % ± 0 on the second step: every complete week of at least 30 leads whose expected
    share at maturity is surely below 100 % is red, with its evidence; the partial week never. (The
    second step: nearly every lead reaches the first milestone, a pipeline's first working stage.)"""
    sim = account[0]
    second = funnel_of(sim)[1]["name"]
    settings, report = _report(
        db_url, account, targets=[{"milestone": second, "target": 1.0, "tolerance": 0.0}]
    )
    headline = headline_from_report(report, settings)
    flagged = {
        week for (week, name), flag in headline.flags.items() if name == second and flag.direction == "low"
    }
    eligible = {
        row.week_start
        for row in headline.rows
        if not row.partial and row.leads >= 30 and row.steps[1] is not None and row.steps[1] < 0.9
    }
    assert eligible
    assert eligible <= flagged
    assert all(not row.partial for row in headline.rows if row.week_start in flagged)
    assert "vs target 100 % ± 0 pp" in render_text(headline)
    assert render_text(headline).startswith(headline.title() + "\n\n" + headline.summary[0])


def test_the_last_weeks_same_age_range_only_above_the_minimum_base(
    db_url: str, account: tuple[SimAccount, str, str]
) -> None:
    """Under report.anomaly_min_leads the line says the week is too small to compare (no
    "0.0 %–15.6 %"); above it, the usual share, the range chance allows and where the week is."""
    from cohort_service.app.summary import last_week_line

    settings, report = _report(db_url, account, anomaly_min_leads=10_000)
    last = report.cohorts.iloc[-1]
    leads, reached = int(last[col.LEADS]), int(last[report.final_name])
    head = (
        f"Last complete week {last[col.COHORT]}: {leads} leads, {reached} reached {report.final_name} "
        f"({reached / leads * 100:.1f} %)"
    )
    assert last_week_line(report) == (
        f"{head}; too few leads to compare with earlier weeks "
        "(under 10000, chance alone moves a week that small too far)."
    )
    del settings
    _settings, report = _report(db_url, account, anomaly_min_leads=1)
    line = last_week_line(report)
    assert line is not None
    match = re.fullmatch(
        re.escape(head) + r": (usual|below usual|above usual) — earlier weeks at the same age \((\d+) days, "
        r"(\d+) weeks\) had (\d+\.\d) %; chance alone puts a week of (\d+) leads anywhere in "
        r"(\d+\.\d) %–(\d+\.\d) %\.",
        line,
    )
    assert match is not None, line
    word, days, weeks, _usual, size, low, high = match.groups()
    # as of Sunday 23:59:59 the week is 7 days old; 8 earlier weeks (of 9) compared
    assert (int(days), int(weeks), int(size)) == (7, 8, leads)
    share = reached / leads * 100
    expected_word = "below usual" if share < float(low) else "above usual" if share > float(high) else "usual"
    assert word == expected_word


def test_young_weeks_line_names_the_age_they_wait_for(
    db_url: str, account: tuple[SimAccount, str, str]
) -> None:
    """'not yet N days old' with N the measured mature age; with no conversion time measured (0
    days) only the running week can be young, and the line says so instead of 'not yet 0 days old'."""
    from cohort_service.app.summary import forecast_line

    _settings, report = _report(db_url, account)
    assert report.forecast is not None
    young = int((~report.cohorts[col.MATURE].astype(bool)).sum())
    days = round(report.forecast.mature_days)
    assert young > 0
    assert days >= 1
    assert (forecast_line(report) or "").startswith(f"Young weeks ({young}, not yet {days} days old): ")
    instant = dataclasses.replace(report, forecast=dataclasses.replace(report.forecast, mature_days=0.2))
    assert (forecast_line(instant) or "").startswith(f"Young weeks ({young}, the week still running): ")
