"""Hostile values from amoCRM (issue 16.4), planted in the simulator's replies as raw JSON text.

Values that cannot mean anything (an id beyond 64 bits, an infinite budget, a timestamp a year ahead
or before year 1) stop the sync with one line naming the entity, its id and the field, exit 1, and
leave the database exactly as the last good sync left it; with the value fixed, the rerun completes.
Text Postgres cannot store (NUL, a lone surrogate) is cleaned instead and listed as a warning: one
broken lead name must not stop every sync of the account.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cohort_service.simulator.truth import leads_frame, status_changes_frame
from tests.conftest import CliResult
from tests.sync.harness import Sim, mismatches, simulated

TABLES = ("users", "pipelines", "statuses", "custom_fields", "leads", "lead_status_changes", "lead_events",
          "sync_checkpoints")  # fmt: skip


def _snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the synced tables, without the wall-clock stamps each run rewrites where nothing changed
    (``synced_at``, a checkpoint's ``updated_at``)."""
    out = {}
    with engine.connect() as conn:
        for table in TABLES:
            rows = conn.execute(text(f"SELECT * FROM {table}")).mappings()
            skip = {"synced_at", "updated_at"} if table == "sync_checkpoints" else {"synced_at"}
            kept = (tuple(v for k, v in r.items() if k not in skip) for r in rows)
            out[table] = sorted(kept, key=repr)
    return out


def _newest_lead(sim: Sim) -> int:
    truth = leads_frame(sim.app.account, custom_fields=False)
    return int(truth.loc[~truth["is_deleted"]].sort_values(["updated_at", "id"]).iloc[-1]["id"])


def _newest_status_change(sim: Sim) -> str:
    return str(status_changes_frame(sim.app.account).sort_values("created_at").iloc[-1]["event_id"])


def _first_pipeline(sim: Sim) -> tuple[int, int]:
    pipeline = sim.app.account.pipelines[0]
    return pipeline.id, pipeline.statuses[1].id


def _sync(run_cli: Callable[..., CliResult], config: Path) -> CliResult:
    result = run_cli("--config", str(config), "sync")
    assert "Traceback" not in result.stderr + result.stdout
    return result


AHEAD = "is more than a year ahead (Unix seconds expected; milliseconds?)"
BEYOND_64 = "is beyond a 64-bit integer"
NOT_A_DATE = "is not a Unix timestamp of a real date"
REFUSED: list[tuple[str, str, str, str]] = [
    # (collection, field, raw JSON, the line after "error: <entity> <id>: ")
    ("leads", "price", "Infinity", "price: expected a finite number, got Infinity"),
    ("leads", "price", "-1e400", "price: expected a finite number, got -Infinity"),
    ("leads", "price", "1e17", "price: 1e+17 is beyond 10^16, the largest amount stored"),
    ("leads", "price", "NaN", "price: expected a finite number, got NaN"),
    (
        "leads", "responsible_user_id", "99999999999999999999",
        f"responsible_user_id: 99999999999999999999 {BEYOND_64}",
    ),
    ("leads", "status_id", "-9223372036854775809", f"status_id: -9223372036854775809 {BEYOND_64}"),
    (
        "leads", "updated_at", "4102444800",
        f"updated_at: 4102444800 {AHEAD}",
    ),
    (
        "leads", "created_at", "1700000000000000",
        f"created_at: 1700000000000000 {NOT_A_DATE}",
    ),
    ("leads", "created_at", "-99999999999999", f"created_at: -99999999999999 {NOT_A_DATE}"),
    ("leads", "closed_at", "253402300800", f"closed_at: 253402300800 {NOT_A_DATE}"),
    ("leads", "created_at", "2000000000", f"created_at: 2000000000 {AHEAD}"),
    (
        "events", "created_at", "4102444800",
        f"created_at: 4102444800 {AHEAD}",
    ),
    ("pipelines", "_embedded.statuses.1.sort", "4294967296", "sort: 4294967296 is beyond a 32-bit integer"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("collection", "field", "raw", "problem"), REFUSED, ids=[f"{c}.{f}={r}" for c, f, r, _ in REFUSED]
)
def test_a_meaningless_value_stops_the_sync_and_changes_nothing(
    *,
    db_url: str, engine: Engine, tmp_path: Path, run_cli: Callable[..., CliResult],
    collection: str, field: str, raw: str, problem: str,
) -> None:  # fmt: skip
    with simulated(seed=16, leads=80, weeks=4) as sim:
        config = sim.config_file(tmp_path / "config.toml", db_url)
        assert _sync(run_cli, config).exit_code == 0
        if collection == "events":
            sim.app.advance(days=1)  # a new event for the incremental run (leads change beside it)
        before = _snapshot(engine)
        if collection == "leads":
            entity_id: int | str = _newest_lead(sim)
            label = f"lead {entity_id}"
        elif collection == "events":
            entity_id = _newest_status_change(sim)
            label = f"event {entity_id}"
        else:
            entity_id, status_id = _first_pipeline(sim)
            label = f"pipeline {entity_id} status {status_id}"
        sim.app.plant(collection, entity_id, field, raw)

        refused = _sync(run_cli, config)
        assert (refused.exit_code, refused.stderr.strip().splitlines()) == (1, [f"error: {label}: {problem}"])
        after = _snapshot(engine)
        changed = [t for t in TABLES if before[t] != after[t]]
        if collection == "events":
            # Leads and earlier event windows are fetched beside the bad one, each page committed with
            # its checkpoint; the bad event's window is not: not stored, the watermark stays before it.
            assert set(changed) <= {
                "users",
                "leads",
                "lead_status_changes",
                "lead_events",
                "sync_checkpoints",
            }
            moment = status_changes_frame(sim.app.account).set_index("event_id").at[entity_id, "created_at"]
            with engine.connect() as conn:
                stored = conn.execute(
                    text("SELECT count(*) FROM lead_status_changes WHERE event_id = :id"), {"id": entity_id}
                ).scalar_one()
                mark = conn.execute(
                    text("SELECT watermark FROM sync_checkpoints WHERE stream = 'events'")
                ).scalar()
            assert stored == 0
            assert mark is not None
            assert mark < moment.to_pydatetime()
        else:
            assert [t for t in changed if t != "sync_checkpoints"] == []
            # The events stream, fetched beside the leads, may have recorded its plan of windows
            # (resumable state); no watermark moved and the leads checkpoint is untouched.
            marks = {row[0]: row[1] for row in after["sync_checkpoints"]}
            assert {row[0]: row[1] for row in before["sync_checkpoints"]} == marks
            leads_checkpoint = [row for row in before["sync_checkpoints"] if row[0] == "leads"]
            assert leads_checkpoint == [row for row in after["sync_checkpoints"] if row[0] == "leads"]

        sim.app.clear_plants()
        sim.app.advance(days=1)
        assert _sync(run_cli, config).exit_code == 0
        assert mismatches(engine, sim) == []


def test_an_id_beyond_64_bits_names_the_page_and_item(
    db_url: str, engine: Engine, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    """Before the id is read there is no id to name: the line says where the object sat instead."""
    with simulated(seed=16, leads=80, weeks=4) as sim:
        sim.app.plant("leads", _newest_lead(sim), "id", "18446744073709551616")
        config = sim.config_file(tmp_path / "config.toml", db_url)
        result = _sync(run_cli, config)
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: lead (GET /api/v4/leads page ")
    assert line.endswith("): id: 18446744073709551616 is beyond a 64-bit integer")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM leads WHERE id < 0")).scalar_one() == 0


CLEANED: list[tuple[str, str, object]] = [
    # (field, raw JSON, what is stored)
    ("name", '"Заказ\\u0000 №1"', "Заказ №1"),
    ("name", '"\\ud800Заказ"', "\ufffdЗаказ"),
    ("name", '"a\\u0000\\u0000b\\udfff"', "ab\ufffd"),
]


@pytest.mark.parametrize(("field", "raw", "stored"), CLEANED, ids=["nul", "lone-surrogate", "mixed"])
def test_unstorable_text_is_cleaned_and_reported(
    *,
    db_url: str, engine: Engine, tmp_path: Path, run_cli: Callable[..., CliResult],
    field: str, raw: str, stored: object,
) -> None:  # fmt: skip
    with simulated(seed=16, leads=80, weeks=4) as sim:
        lead = _newest_lead(sim)
        sim.app.plant("leads", lead, field, raw)
        config = sim.config_file(tmp_path / "config.toml", db_url)
        result = _sync(run_cli, config)
    assert result.exit_code == 0, result.stderr
    count = raw.count("\\u0000") + raw.count("\\ud")
    assert (
        f"warning: lead {lead}: {field}: {count} NUL or invalid character(s) removed"
        in result.stdout.splitlines()
    )
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT name FROM leads WHERE id = :id"), {"id": lead}).scalar_one() == stored
        )


def test_unstorable_text_in_a_custom_field_value_is_cleaned(
    db_url: str, engine: Engine, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    with simulated(seed=16, leads=80, weeks=4) as sim:
        truth = leads_frame(sim.app.account)
        with_fields = truth.loc[~truth["is_deleted"] & truth["custom_fields"].map(bool)]
        lead = int(with_fields.iloc[0]["id"])
        sim.app.plant("leads", lead, "custom_fields_values.0.values.0.value", '"x\\u0000y\\udc00"')
        config = sim.config_file(tmp_path / "config.toml", db_url)
        result = _sync(run_cli, config)
    assert result.exit_code == 0, result.stderr
    where = "custom_fields_values[0].values[0].value"
    note = f"warning: lead {lead}: {where}: 2 NUL or invalid character(s) removed"
    assert note in result.stdout.splitlines()
    with engine.connect() as conn:
        fields = conn.execute(
            text("SELECT custom_fields FROM leads WHERE id = :id"), {"id": lead}
        ).scalar_one()
    assert fields[0]["values"][0]["value"] == "xy\ufffd"


def test_unstorable_text_in_reference_data_is_cleaned_and_reported(
    db_url: str, engine: Engine, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    with simulated(seed=16, leads=80, weeks=4) as sim:
        pipeline_id, status_id = _first_pipeline(sim)
        user_id = sim.app.account.admin.id
        sim.app.plant("pipelines", pipeline_id, "_embedded.statuses.1.name", '"Встреча\\u0000"')
        sim.app.plant("users", user_id, "name", '"Анна\\ud83d"')
        config = sim.config_file(tmp_path / "config.toml", db_url)
        result = _sync(run_cli, config)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        f"warning: pipeline {pipeline_id} status {status_id}: name: 1 NUL or invalid character(s) removed"
        in lines
    )
    assert f"warning: user {user_id}: name: 1 NUL or invalid character(s) removed" in lines
    with engine.connect() as conn:
        status = conn.execute(
            text("SELECT name FROM statuses WHERE pipeline_id = :p AND status_id = :s"),
            {"p": pipeline_id, "s": status_id},
        ).scalar_one()
        user = conn.execute(text("SELECT name FROM users WHERE id = :id"), {"id": user_id}).scalar_one()
    assert (status, user) == ("Встреча", "Анна\ufffd")
