"""One hand-built lead per DESIGN §5 rule, read back from the Leads table the report produces.

Account: Europe/Moscow (UTC+3). Levels in Воронка: Новая 0, Целевой 1 (target), Квалификация and
Встреча 2 (qualified), КП отправлено 3 (proposal), won 4 (paid). Reports are as of 2022-09-26,
i.e. up to 2022-09-26 23:59:59.999999 MSK; its weeks start 12.09, 19.09 and 26.09.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from cohort_service.cohorts.facts import imputed_col
from cohort_service.cohorts.model import CohortReport
from cohort_service.db.upserts import apply_delete_restore_events
from tests.cohorts.conftest import lead, ts
from tests.cohorts.rows import SALES, Account, account

AS_OF = date(2022, 9, 26)
NaT = pd.NaT


def imputed(report: CohortReport, lead_id: int) -> list[bool]:
    row = report.facts[report.facts["lead_id"] == lead_id].iloc[0]
    return [bool(row[imputed_col(k)]) for k in range(1, 5)]


def reached(row: dict[str, object]) -> list[object]:
    return [row[m] for m in ("target", "qualified", "proposal", "paid")]


def reached_at(row: dict[str, object]) -> list[object]:
    return [row[f"{m} at"] for m in ("target", "qualified", "proposal", "paid")]


def test_skipped_stage_is_reached_and_imputed(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(1, "2022-09-12 10:00", [("2022-09-13 10:00", "Квалификация")])
    report = run(AS_OF)
    row = lead(report, 1)
    assert reached(row) == [1, 1, 0, 0]
    assert reached_at(row)[:2] == [ts("2022-09-13 10:00"), ts("2022-09-13 10:00")]
    assert imputed(report, 1) == [True, False, False, False]
    assert report.quality.imputed == {"target": 1, "qualified": 0, "proposal": 0, "paid": 0}
    assert row["status"] == "Квалификация"
    assert row["cohort_week"] == pd.Timestamp("2022-09-12")


def test_backward_move_keeps_what_was_reached(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(2, "2022-09-12 10:00", [("2022-09-13 10:00", "КП отправлено"), ("2022-09-14 10:00", "Целевой")])
    report = run(AS_OF)
    row = lead(report, 2)
    assert reached(row) == [1, 1, 1, 0]
    assert reached_at(row)[:3] == [ts("2022-09-13 10:00")] * 3
    # It sat at Целевой later, so target was not only imputed; qualified never was sat at.
    assert imputed(report, 2) == [False, True, False, False]
    assert row["status"] == "Целевой"
    assert (row["won"], row["lost"]) == (0, 0)


def test_loss_after_progress(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(
        3,
        "2022-09-12 10:00",
        [("2022-09-13 10:00", "Квалификация"), ("2022-09-15 10:00", "lost")],
        loss_reason=31,
    )
    row = lead(run(AS_OF), 3)
    assert reached(row) == [1, 1, 0, 0]
    assert (row["won"], row["lost"]) == (0, 1)
    assert row["lost from stage"] == "qualified"
    assert row["loss reason"] == "Дорого"
    assert row["status"] == "Закрыто и не реализовано"


def test_reopen_after_loss(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(
        4,
        "2022-09-12 10:00",
        [
            ("2022-09-13 10:00", "Целевой"),
            ("2022-09-14 10:00", "lost"),
            ("2022-09-15 10:00", "Квалификация"),
            ("2022-09-16 10:00", "lost"),
        ],
    )
    acct.lead(5, "2022-09-12 10:00", [("2022-09-13 10:00", "lost"), ("2022-09-14 10:00", "Целевой")])
    report = run(AS_OF)
    relost = lead(report, 4)
    assert reached_at(relost)[:2] == [ts("2022-09-13 10:00"), ts("2022-09-15 10:00")]
    assert relost["lost from stage"] == "qualified"
    assert relost["loss reason"] == "(no reason)"
    reopened = lead(report, 5)
    assert (reopened["lost"], reopened["target"], reopened["target at"]) == (0, 1, ts("2022-09-14 10:00"))
    assert reopened["lost from stage"] is None


def test_lost_before_the_first_milestone(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(6, "2022-09-12 10:00", [("2022-09-13 10:00", "lost")], loss_reason=32)
    row = lead(run(AS_OF), 6)
    assert (row["lost from stage"], row["loss reason"]) == ("(before target)", "Не отвечает")


def test_won_then_moved_back(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(
        7,
        "2022-09-12 10:00",
        [("2022-09-13 10:00", "КП отправлено"), ("2022-09-14 10:00", "won"), ("2022-09-15 10:00", "Встреча")],
        price=1000,
    )
    report = run(AS_OF)
    row = lead(report, 7)
    assert reached(row) == [1, 1, 1, 1]
    assert row["paid at"] == ts("2022-09-14 10:00")
    assert (row["won"], row["revenue"], row["price"]) == (0, 0.0, 1000.0)
    assert row["days to final"] == 2.0
    assert row["status"] == "Встреча"
    week = report.cohorts.iloc[0]  # 12.09
    assert (week["paid"], week["won"], week["lead→paid %"], week["revenue"]) == (1, 0, 1.0, 0.0)


def test_pipeline_move_after_progress(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(
        8,
        "2022-09-12 10:00",
        [("2022-09-13 10:00", "Воронка/КП отправлено"), ("2022-09-14 10:00", "Партнёры/Новая")],
    )
    row = lead(run(AS_OF), 8)
    assert reached(row) == [1, 1, 1, 0]
    assert (row["pipeline"], row["status"], row["status pipeline"]) == ("Воронка", "Новая", "Партнёры")
    # The cohort belongs to the pipeline of creation, whatever happened later.
    assert run(AS_OF, pipelines=["Воронка"]).leads_table()["lead_id"].tolist() == [8]
    assert run(AS_OF, pipelines=["Партнёры"]).leads_table()["lead_id"].tolist() == []


def test_created_mid_funnel(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(9, "2022-09-12 10:00", initial="КП отправлено")
    # amoCRM may send an empty value_before for the first change of a lead created in a status.
    acct.lead(10, "2022-09-12 11:00", [("2022-09-12 11:00:05", "Квалификация")], initial=None)
    report = run(AS_OF)
    created = lead(report, 9)
    assert reached(created) == [1, 1, 1, 0]
    assert reached_at(created)[:3] == [ts("2022-09-12 10:00")] * 3
    assert imputed(report, 9) == [True, True, False, False]
    unknown = lead(report, 10)
    assert reached_at(unknown)[:2] == [ts("2022-09-12 11:00:05")] * 2
    assert unknown["pipeline"] == "Воронка"
    assert (report.quality.no_history, report.quality.unknown_initial) == (1, 1)


def test_deleted_before_and_after_a_and_restored(acct: Account, run: Callable[..., CohortReport]) -> None:
    for lead_id in range(11, 18):
        acct.lead(
            lead_id,
            "2022-09-12 10:00",
            is_deleted=lead_id in (15, 16),
            deleted_at={15: "2022-09-14 10:00", 16: "2022-09-25 10:00"}.get(lead_id),
        )
    acct.event(11, "deleted", "2022-09-14 10:00")
    acct.event(12, "deleted", "2022-09-25 10:00")
    acct.event(13, "deleted", "2022-09-14 10:00")
    acct.event(13, "restored", "2022-09-15 10:00")
    acct.event(14, "deleted", "2022-09-14 10:00")
    acct.event(14, "restored", "2022-09-22 10:00")
    acct.event(17, "restored", "2022-09-22 10:00")  # the deletion predates our events: in the trash at A
    ids = run(date(2022, 9, 20)).leads_table()["lead_id"].tolist()
    assert sorted(ids) == [12, 13, 16]
    assert sorted(run(AS_OF).leads_table()["lead_id"].tolist()) == [13, 14, 17]


def test_same_second_delete_and_restore_the_later_event_id_wins_in_sync_and_report(
    acct: Account, run: Callable[..., CohortReport]
) -> None:
    """One rule for both readers: the lead row the sync keeps and the report's "deleted as of A"."""
    for lead_id in (31, 32):
        acct.lead(lead_id, "2022-09-12 10:00")
    # 31: deleted then restored within 10:00:00 (the restore has the later id) → alive.
    acct.event(31, "deleted", "2022-09-14 10:00", event_id="01gz00000000000000000000a1")
    acct.event(31, "restored", "2022-09-14 10:00", event_id="01gz00000000000000000000b2")
    # 32: restored then deleted within the same second: by id the delete is last, whatever the type.
    acct.event(32, "restored", "2022-09-14 10:00", event_id="01gz00000000000000000000c3")
    acct.event(32, "deleted", "2022-09-14 10:00", event_id="01gz00000000000000000000d4")
    apply_delete_restore_events(acct.conn)
    flags = acct.conn.execute(text("SELECT id, is_deleted FROM leads WHERE id IN (31, 32) ORDER BY id")).all()
    assert [tuple(r) for r in flags] == [(31, False), (32, True)]
    assert run(AS_OF).leads_table()["lead_id"].tolist() == [31]


def test_events_after_a_are_ignored(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(
        20,
        "2022-09-12 10:00",
        [("2022-09-13 10:00", "Целевой"), ("2022-09-14 10:00", "КП отправлено"), ("2022-09-15 10:00", "won")],
        price=500,
    )
    acct.lead(21, "2022-09-12 09:00", [("2022-09-14 10:00", "won")], initial="Целевой")
    acct.lead(22, "2022-09-14 10:00")
    report = run(date(2022, 9, 13))
    first = lead(report, 20)
    assert reached(first) == [1, 0, 0, 0]
    assert (first["status"], first["won"], first["revenue"]) == ("Целевой", 0, 0.0)
    second = lead(report, 21)  # its only change is after A: the initial status comes from value_before
    assert (reached(second), second["status"], second["target at"]) == (
        [1, 0, 0, 0],
        "Целевой",
        ts("2022-09-12 09:00"),
    )
    assert 22 not in report.leads_table()["lead_id"].tolist()
    assert report.quality.no_history == 1


def test_unknown_status_and_orphan_events(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(23, "2022-09-12 10:00", [("2022-09-13 10:00", (10, 777)), ("2022-09-14 10:00", "Целевой")])
    acct.change(999, "2022-09-13 10:00", (10, 101), (10, 102))
    report = run(AS_OF)
    row = lead(report, 23)
    assert reached_at(row)[0] == ts("2022-09-14 10:00")
    assert (report.quality.unknown_status, report.quality.orphan_leads) == (1, 1)


def test_moscow_week_edges(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(30, "2022-09-18 23:59:59")
    acct.lead(31, "2022-09-19 00:00:00")
    acct.lead(32, "2022-09-26 23:59:59")
    acct.lead(33, "2022-09-27 00:00:00")
    report = run(AS_OF)
    assert report.cohorts["leads"].tolist() == [1, 1, 1]
    weeks = report.leads_table().set_index("lead_id")["cohort_week"]
    assert weeks.to_dict() == {
        30: pd.Timestamp("2022-09-12"),
        31: pd.Timestamp("2022-09-19"),
        32: pd.Timestamp("2022-09-26"),
    }


@pytest.fixture
def berlin(engine: Engine) -> Account:
    built = account(engine, "Europe/Berlin")
    yield built  # type: ignore[misc]
    built.conn.close()


def test_berlin_week_edges_at_the_october_change(berlin: Account, run: Callable[..., CohortReport]) -> None:
    """CEST ends 2022-10-30 03:00 → 02:00; weeks still run Monday 00:00 to Monday 00:00 local."""
    berlin.lead(40, "2022-10-23 23:59:59")  # CEST, UTC+2
    berlin.lead(41, "2022-10-24 00:00:00")
    berlin.lead(42, "2022-10-30 23:59:59")  # CET, UTC+1
    berlin.lead(43, "2022-10-31 00:00:00")
    berlin.lead(44, "2022-11-01 00:00:00")  # after the end of 31.10 local: not yet created
    report = run(date(2022, 10, 31), timezone="Europe/Berlin")
    assert report.as_of.isoformat() == "2022-10-31T23:59:59.999999+01:00"
    assert [str(w) for w in report.weeks] == ["2022-10-17", "2022-10-24", "2022-10-31"]
    weeks = report.leads_table().set_index("lead_id")["cohort_week"].dt.strftime("%d.%m").to_dict()
    assert weeks == {40: "17.10", 41: "24.10", 42: "24.10", 43: "31.10"}
    assert report.cohorts["cohort"].tolist() == ["17.10–23.10.2022", "24.10–30.10.2022", "31.10–06.11.2022"]
    assert report.leads_table().set_index("lead_id")["created_at"][42] == ts("2022-10-30 23:59:59")


def test_timezone_defaults_to_the_account(berlin: Account, run: Callable[..., CohortReport]) -> None:
    berlin.lead(45, "2022-10-31 00:30:00")  # Sunday 23:30 UTC: Monday in Berlin
    report = run(date(2022, 10, 31), timezone="")
    assert report.timezone == "Europe/Berlin"
    assert report.leads_table()["cohort_week"].tolist() == [pd.Timestamp("2022-10-31")]


def test_moments_keep_their_microseconds(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(50, "2022-09-12 10:00:00.000001", [("2022-09-13 10:00:00.999999", "Целевой")])
    row = lead(run(AS_OF), 50)
    assert (row["created_at"], row["target at"]) == (
        ts("2022-09-12 10:00:00.000001"),
        ts("2022-09-13 10:00:00.999999"),
    )


def test_an_exact_as_of_moment_includes_what_happened_at_it(
    acct: Account, run: Callable[..., CohortReport]
) -> None:
    """``send`` passes an aware moment instead of a date; a change stamped exactly at A counts."""
    acct.lead(
        51, "2022-09-12 10:00", [("2022-09-13 10:00", "Целевой"), ("2022-09-13 10:00:01", "КП отправлено")]
    )
    report = run(datetime(2022, 9, 13, 7, 0, tzinfo=UTC))  # 10:00 in Moscow
    assert report.as_of.isoformat() == "2022-09-13T10:00:00+03:00"
    row = lead(report, 51)
    assert (reached(row), row["status"]) == ([1, 0, 0, 0], "Целевой")
    assert report.cohorts["partial"].tolist() == [False, False, True]


def test_lead_deleted_before_the_first_sync_counts_from_its_events(
    acct: Account, run: Callable[..., CohortReport]
) -> None:
    """amoCRM no longer lists lead 60 (deleted on 20.09 before we ever synced); its lead_added and
    stage events remain. As of 19.09 it existed and had reached qualified; as of 26.09 it is gone.
    Lead 61 has history but no creation event: it cannot be placed in a cohort and is left out."""
    acct.event(60, "added", "2022-09-13 10:00")
    acct.change(60, "2022-09-14 10:00", (SALES, 101), (SALES, 103))
    acct.event(60, "deleted", "2022-09-20 10:00")
    acct.change(61, "2022-09-14 10:00", (SALES, 101), (SALES, 102))
    before = run(date(2022, 9, 19))
    row = lead(before, 60)
    assert reached(row) == [1, 1, 0, 0]  # qualified (sort 40) implies target
    assert (row["pipeline"], row["manager"], row["price"]) == ("Воронка", "(no manager)", 0.0)
    assert before.quality.events_only == 1
    assert before.quality.orphan_leads == 1
    week = before.cohorts[before.cohorts["cohort_week"] == pd.Timestamp("2022-09-12")].iloc[0]
    assert (week["leads"], week["target"], week["qualified"]) == (1, 1, 1)
    after = run(AS_OF)
    assert 60 not in after.leads_table()["lead_id"].tolist()
    assert after.quality.events_only == 0
