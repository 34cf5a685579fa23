"""End to end: simulated account → sync over HTTP → `report --csv` → the Cohorts numbers equal an
independent computation straight from the simulator's ground truth (its status paths and
delete/restore events), following DESIGN §5 with no code shared with the engine."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cohort_service.simulator.model import SimAccount
from cohort_service.simulator.truth import lead_events_frame, leads_frame, status_path
from cohort_service.sync.runner import run_sync
from tests.conftest import CliResult
from tests.sync.harness import simulated

WON, LOST = 142, 143
MILESTONES = [("qualified", ["Квалификация"]), ("negotiation", ["Переговоры"]), ("paid", [WON])]
WEEKS = 8


def _levels(account: SimAccount) -> Callable[[int, int], int]:
    """How many milestones a status reaches: DESIGN §5 read literally."""
    thresholds: dict[int, list[int | None]] = {}
    for pipeline in account.pipelines:
        sorts = {s.name: s.sort for s in pipeline.statuses if s.type == 0 and s.id not in (WON, LOST)}
        thresholds[pipeline.id] = [
            min((sorts[n] for n in names if isinstance(n, str) and n in sorts), default=None)
            for _, names in MILESTONES
        ]
    kinds = {(p.id, s.id): (s.type, s.sort) for p in account.pipelines for s in p.statuses}

    def level(pipeline_id: int, status_id: int) -> int:
        if status_id == WON:
            return len(MILESTONES)
        if status_id == LOST:
            return 0
        kind, sort = kinds.get((pipeline_id, status_id), (1, 0))
        if kind == 1:
            return 0
        reached = 0
        for k, threshold in enumerate(thresholds.get(pipeline_id, []), start=1):
            if threshold is not None and sort >= threshold:
                reached = k
        return reached

    return level


def _expected(account: SimAccount, as_of: datetime, tz: ZoneInfo) -> dict[date, list[int]]:
    """Per cohort Monday: [leads, reached qualified, reached negotiation, reached paid]."""
    level = _levels(account)
    leads = leads_frame(account, custom_fields=False)
    events = lead_events_frame(account)
    trash: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for row in events[events["type"] != "lead_added"].itertuples():
        trash[int(row.lead_id)].append((row.created_at.to_pydatetime(), row.type))
    a_week = as_of.date() - timedelta(days=as_of.weekday())
    first = a_week - timedelta(weeks=WEEKS - 1)
    counts: dict[date, list[int]] = {first + timedelta(weeks=i): [0] * 4 for i in range(WEEKS)}
    for row in leads.itertuples():
        created = row.created_at.to_pydatetime()
        gone = sorted((t, kind) for t, kind in trash[int(row.id)] if t <= as_of)
        if created > as_of or (gone and gone[-1][1] == "lead_deleted"):
            continue
        local = created.astimezone(tz).date()
        week = local - timedelta(days=local.weekday())
        if week not in counts:
            continue
        best = 0
        for moment, pipeline_id, status_id in status_path(account, int(row.id)):
            if datetime.fromtimestamp(moment, UTC) <= as_of:
                best = max(best, level(pipeline_id, status_id))
        counts[week][0] += 1
        for k in range(1, len(MILESTONES) + 1):
            counts[week][k] += best >= k
    return counts


def _config(path: Path, url: str, token: str, db_url: str) -> Path:
    milestones = "".join(
        f'[[report.milestones]]\nname = "{name}"\nstatuses = {statuses!r}\n'.replace("'", '"')
        for name, statuses in MILESTONES
    )
    path.write_text(
        f'[amocrm]\nbase_url = "{url}"\ntoken = "{token}"\nrequests_per_second = 50\n'
        f'[database]\nurl = "{db_url}"\n[report]\nweeks = {WEEKS}\nage_days = [7, 14]\n{milestones}',
        encoding="utf-8",
    )
    return path


def test_report_csv_equals_truth(db_url: str, tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    with simulated(seed=61, leads=900, weeks=12) as sim:
        account = sim.app.account
        run_sync(sim.settings(db_url), clock=sim.now)
        config = _config(tmp_path / "config.toml", sim.url, sim.token, db_url)
        tz = ZoneInfo(account.timezone)
        for as_of_day in (
            sim.now().astimezone(tz).date() - timedelta(days=17),
            sim.now().astimezone(tz).date(),
        ):
            as_of = datetime.combine(as_of_day, time.max, tzinfo=tz)
            expected = _expected(account, as_of, tz)
            # the account's zone is Europe/Moscow: auto writes excel-ru; plain is what programs read
            for dialect, delimiter in (("auto", ";"), ("plain", ",")):
                out = tmp_path / f"csv-{as_of_day}-{dialect}"
                result = run_cli(
                    "--config", str(config), "report", "--as-of", as_of_day.isoformat(), "--csv", str(out),
                    "--csv-dialect", dialect,
                )  # fmt: skip
                assert result.exit_code == 0, result.stderr
                with (out / "cohorts.csv").open(encoding="utf-8-sig", newline="") as fh:
                    got = {
                        date.fromisoformat(row["cohort_week"][:10]): [int(row["leads"])]
                        + [int(row[name]) for name, _ in MILESTONES]
                        for row in csv.DictReader(fh, delimiter=delimiter)
                    }
                assert got == expected, f"as of {as_of_day}, {dialect}"
            assert sum(v[0] for v in expected.values()) > 300  # the comparison is about real volume
            assert any(v[3] for v in expected.values())  # and someone paid
