"""resync repairs a database someone edited by hand; --since narrows it to recent history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from cohort_service.sync.runner import run_sync
from tests.conftest import CliResult
from tests.sync.harness import mismatches, simulated

VANDALISM = [
    # a lead moved to a made-up status, a live lead marked deleted, a price zeroed
    "UPDATE leads SET status_id = 999, pipeline_id = 999 "
    "WHERE id = (SELECT min(id) FROM leads WHERE NOT is_deleted)",
    "UPDATE leads SET is_deleted = true, deleted_at = now() "
    "WHERE id = (SELECT max(id) FROM leads WHERE NOT is_deleted)",
    "UPDATE leads SET price = 0 WHERE price > 0",
    # stage history: rows lost, a row invented, a row altered
    "DELETE FROM lead_status_changes "
    "WHERE event_id IN (SELECT event_id FROM lead_status_changes ORDER BY event_id LIMIT 25)",
    "INSERT INTO lead_status_changes (event_id, lead_id, created_at, after_pipeline_id, after_status_id) "
    "SELECT 'forged-1', id, created_at + interval '1 hour', pipeline_id, 142 FROM leads ORDER BY id LIMIT 1",
    "UPDATE lead_status_changes SET after_status_id = 143 "
    "WHERE event_id = (SELECT max(event_id) FROM lead_status_changes)",
    "DELETE FROM lead_events "
    "WHERE type = 'lead_added' AND event_id IN (SELECT event_id FROM lead_events LIMIT 10)",
]  # fmt: skip


def _vandalize(engine: Engine, statements: list[str]) -> None:
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql))


def test_full_resync_repairs_hand_edits(db_url: str, engine: Engine) -> None:
    with simulated(seed=51, leads=400, weeks=10) as sim:
        settings = sim.settings(db_url)
        run_sync(settings, clock=sim.now)
        _vandalize(engine, VANDALISM)
        problems = mismatches(engine, sim)
        assert len(problems) >= 3  # the edits are visible

        plain = run_sync(settings, clock=sim.now)  # an incremental sync does not look back that far
        assert plain.leads_mode == "incremental"
        assert mismatches(engine, sim) != []

        summary = run_sync(settings, repair=True, clock=sim.now)
        assert summary.kind == "resync"
        assert summary.leads_mode == "full"
        assert summary.events_removed == 1  # the forged row
        assert mismatches(engine, sim) == []


def test_resync_since_repairs_only_recent_history(db_url: str, engine: Engine) -> None:
    with simulated(seed=52, leads=400, weeks=10) as sim:
        settings = sim.settings(db_url)
        run_sync(settings, clock=sim.now)
        since = sim.now() - timedelta(days=14)
        with engine.begin() as conn:
            recent = (
                conn.execute(
                    text(
                        "SELECT event_id FROM lead_status_changes WHERE created_at >= :s "
                        "ORDER BY event_id LIMIT 5"
                    ),
                    {"s": since + timedelta(days=1)},
                )
                .scalars()
                .all()
            )
            old = (
                conn.execute(
                    text(
                        "SELECT event_id FROM lead_status_changes WHERE created_at < :s "
                        "ORDER BY event_id LIMIT 5"
                    ),
                    {"s": since - timedelta(days=1)},
                )
                .scalars()
                .all()
            )
            conn.execute(
                text("DELETE FROM lead_status_changes WHERE event_id = ANY(:ids)"), {"ids": [*recent, *old]}
            )
        assert len(recent) == len(old) == 5

        run_sync(settings, repair=True, since=since, clock=sim.now)
        with engine.connect() as conn:
            back = set(conn.execute(text("SELECT event_id FROM lead_status_changes")).scalars())
        assert set(recent) <= back  # inside the window: restored
        assert not set(old) & back  # outside the window: untouched, as asked

        run_sync(settings, repair=True, clock=sim.now)  # the full resync restores the rest
        assert mismatches(engine, sim) == []


def test_resync_cli_rejects_a_bad_date(run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[amocrm]\nbase_url = "http://127.0.0.1:9"\ntoken = "t"\n', encoding="utf-8")
    result = run_cli("--config", str(cfg), "resync", "--since", "31.01.2024")
    assert result.exit_code == 2
    assert "expected a date like 2024-01-31" in result.stderr


def test_resync_right_after_a_sync_reports_no_change(db_url: str, engine: Engine) -> None:
    """ "Changed" means a stored value differs: a resync that finds the tables true changes nothing,
    and one real difference counts once."""
    with simulated(seed=53, leads=300, weeks=8) as sim:
        settings = sim.settings(db_url)
        first = run_sync(settings, clock=sim.now)
        assert first.leads_new > 200

        quiet = run_sync(settings, repair=True, clock=sim.now)
        assert quiet.leads_mode == "full"
        assert (quiet.leads_new, quiet.leads_changed, quiet.leads_deleted) == (0, 0, 0)
        assert (quiet.status_changes_new, quiet.lead_events_new, quiet.events_removed) == (0, 0, 0)
        assert mismatches(engine, sim) == []

        with engine.begin() as conn:
            conn.execute(text("UPDATE leads SET price = price + 1 WHERE id = (SELECT min(id) FROM leads)"))
            conn.execute(text("UPDATE leads SET name = 'x' || name WHERE id = (SELECT max(id) FROM leads)"))
        repaired = run_sync(settings, repair=True, clock=sim.now)
        assert (repaired.leads_new, repaired.leads_changed) == (0, 2)
        assert mismatches(engine, sim) == []
