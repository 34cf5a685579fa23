"""A simulated account on loopback plus the comparison of our database with its ground truth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, text

from cohort_service.config import Settings
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.server import serve
from cohort_service.simulator.truth import lead_events_frame, leads_frame, status_changes_frame
from tests.conftest import make_settings

LEAD_FIELDS = [
    "name", "pipeline_id", "status_id", "responsible_user_id", "group_id", "price", "created_by",
    "updated_by", "created_at", "updated_at", "closed_at", "loss_reason_id",
]  # fmt: skip


@dataclass
class Sim:
    app: SimulatorApp
    url: str
    token: str

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.app.account.now, UTC)

    def config_file(self, path: Path, db_url: str, **amocrm: Any) -> Path:
        """The same settings as a TOML file, for runs in a subprocess."""
        lines = ["[amocrm]"]
        for key, value in {**self._amocrm(), **amocrm}.items():
            lines.append(f"{key} = {json.dumps(value)}")
        lines += ["[database]", f"url = {json.dumps(db_url)}"]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def _amocrm(self) -> dict[str, Any]:
        return {
            "base_url": self.url,
            "token": self.token,
            "requests_per_second": 50,
            "backoff_factor_s": 0.01,
            "max_delay_s": 0.5,
            "timeout_s": 10,
        }

    def settings(self, db_url: str, **amocrm: Any) -> Settings:
        section = self._amocrm()
        section.update(amocrm)
        return make_settings(db_url, amocrm=section)


@contextmanager
def simulated(
    *,
    seed: int = 7,
    leads: int = 400,
    weeks: int = 12,
    filters: bool = True,
    end: datetime | None = None,
    **app_options: Any,
) -> Iterator[Sim]:
    account = generate_account(seed=seed, leads=leads, weeks=weeks, filters_enabled=filters, end=end)
    app_options.setdefault("limits", Limits(rps=None))
    app = SimulatorApp(account, **app_options)
    with serve(app) as url:
        yield Sim(app, url, app.issue_token())


def _frame(engine: Engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(text(sql), conn)


def _norm(value: Any) -> Any:
    """One representation per value: None for every kind of missing, UTC datetimes, plain numbers."""
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().astimezone(UTC)
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _rows(frame: pd.DataFrame, key: str, columns: list[str]) -> dict[Any, tuple[Any, ...]]:
    return {
        _norm(k): tuple(_norm(v) for v in values)
        for k, *values in frame[[key, *columns]].itertuples(index=False, name=None)
    }


def mismatches(engine: Engine, sim: Sim) -> list[str]:
    """Every difference between our tables and what the simulator knows; empty when equal."""
    account = sim.app.account
    problems: list[str] = []
    truth = leads_frame(account)
    ours = _frame(engine, "SELECT * FROM leads")
    ours["tags"] = ours["tags"].map(lambda tags: [t["name"] for t in tags])
    truth_by_id = truth.set_index("id")
    alive = set(truth.loc[~truth["is_deleted"], "id"].tolist())
    held = set(ours["id"].tolist())
    if missing := alive - held:
        problems.append(f"{len(missing)} live leads missing, e.g. {sorted(missing)[:5]}")
    if unknown := held - set(truth["id"].tolist()):
        problems.append(f"{len(unknown)} leads amoCRM does not know, e.g. {sorted(unknown)[:5]}")
    columns = [*LEAD_FIELDS, "tags", "custom_fields"]
    want = _rows(truth[truth["id"].isin(held) & ~truth["is_deleted"]], "id", columns)
    got = _rows(ours[ours["id"].isin(alive)], "id", columns)
    diff = [k for k in want if want[k] != got.get(k)]
    if diff:
        k = diff[0]
        detail = [
            f"{c}: {w!r} != {g!r}"
            for c, w, g in zip(columns, want[k], got.get(k, ()), strict=False)
            if w != g
        ]
        problems.append(f"{len(diff)} leads differ, e.g. lead {k}: {detail}")
    flags = _rows(ours, "id", ["is_deleted", "deleted_at"])
    expected_flags = {
        k: (bool(truth_by_id.at[k, "is_deleted"]), _norm(truth_by_id.at[k, "deleted_at"]))
        for k in held & set(truth_by_id.index)
    }
    bad_flags = [k for k, v in expected_flags.items() if flags[k] != v]
    if bad_flags:
        k = bad_flags[0]
        problems.append(
            f"{len(bad_flags)} deletion flags differ, e.g. lead {k}: {expected_flags[k]} != {flags[k]}"
        )
    for table, frame, key in (
        ("lead_status_changes", status_changes_frame(account), "event_id"),
        ("lead_events", lead_events_frame(account), "event_id"),
    ):
        cols = [c for c in frame.columns if c != key]
        want_e, got_e = _rows(frame, key, cols), _rows(_frame(engine, f"SELECT * FROM {table}"), key, cols)
        if want_e != got_e:
            only_w, only_g = set(want_e) - set(got_e), set(got_e) - set(want_e)
            changed = [k for k in set(want_e) & set(got_e) if want_e[k] != got_e[k]]
            problems.append(
                f"{table}: {len(only_w)} missing, {len(only_g)} extra, {len(changed)} different "
                f"(e.g. {sorted(only_w)[:2]} {sorted(only_g)[:2]} {changed[:2]})"
            )
    return problems
