"""The command line: parse, call one stage, turn errors into one line and an exit code.

Exit codes (DESIGN §6): 0 ok, 1 runtime failure, 2 bad config or usage.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from cohort_service import __version__
from cohort_service.cli_state import State, optional_day, parse_day, state
from cohort_service.errors import CohortServiceError, first_line
from cohort_service.export.csv_dialect import DIALECT_CHOICES, DialectChoice
from cohort_service.ui import UI

app = typer.Typer(
    name="cohort-service",
    help="amoCRM leads → Postgres → weekly lead cohorts → a pivot-ready Excel workbook.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
spend_app = typer.Typer(help="Ad spend: import files, list what is stored.", no_args_is_help=True)
app.add_typer(spend_app, name="spend")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cohort-service {__version__}")
        raise typer.Exit


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file (default ./config.toml, or COHORT_CONFIG)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or chatter.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """cohort-service: weekly lead cohorts from amoCRM."""
    del version
    ctx.obj = State(config_path=config, ui=UI(quiet=quiet))


WaitOption = Annotated[
    float,
    typer.Option("--wait", metavar="SECONDS", help="Wait this long for another run's lock (default: fail)."),
]


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create the database if needed and migrate it to the current schema (safe to repeat)."""
    from cohort_service.db.engine import get_engine
    from cohort_service.db.migrate import upgrade

    st = state(ctx)
    before, after = upgrade(get_engine(st.settings))
    if before == after:
        st.ui.info(f"database already at revision {after}; nothing to do")
    else:
        st.ui.info(f"database migrated: {before or 'empty'} → {after}")


@db_app.command("rebuild-facts")
def db_rebuild_facts(ctx: typer.Context, wait: WaitOption = 0.0) -> None:
    """Rebuild the kept per-lead path summary (lead_paths) from the stored history, in full."""
    from cohort_service.app.rebuild import rebuild_facts
    from cohort_service.db.engine import get_engine

    st = state(ctx)
    done = rebuild_facts(st.settings, get_engine(st.settings), wait_s=wait)
    st.ui.info(f"lead_paths rebuilt: {done.leads} leads with history (milestones {done.fingerprint[:12]})")


@app.command()
def doctor(ctx: typer.Context) -> None:
    """Check the config and everything it points at; print a ✓/✗ table with a fix for each ✗.

    A tool left unconfigured is shown as – (skipped), never ✓. Exit 0 when nothing failed, 1 when a
    check failed, 2 when there is no config file at all (it says where it looked).
    """
    from cohort_service.app.doctor import run_checks
    from cohort_service.config import no_config_found

    st = state(ctx)
    results = run_checks(st.settings)
    if st.ui.out.is_terminal:
        table = Table(show_header=True, header_style="bold")
        for column in ("", "check", "detail", "fix"):
            table.add_column(column)
        colour = {"✓": "[green]✓[/]", "✗": "[red]✗[/]", "–": "[dim]–[/]"}
        for check in results:
            table.add_row(colour[check.mark], escape(check.name), escape(check.detail), escape(check.fix))
        st.ui.out.print(table)
    else:  # logs and pipes get one greppable line per check
        for check in results:
            fix = f" — fix: {check.fix}" if check.fix else ""
            st.ui.out.print(f"{check.mark} {check.name}: {check.detail}{fix}", markup=False)
    if no_config_found(st.settings) is not None:
        raise typer.Exit(2)
    if not all(check.ok for check in results):
        raise typer.Exit(1)


@app.command()
def sync(ctx: typer.Context, wait: WaitOption = 0.0) -> None:
    """Pull what changed in amoCRM since the last sync (the first run pulls the whole history)."""
    from cohort_service.app.preflight import before_sync
    from cohort_service.sync.runner import run_sync

    st = state(ctx)
    st.require_config()
    before_sync(st.settings)
    with st.ui.progress() as progress:
        st.say(run_sync(st.settings, progress=progress, wait_s=wait).lines())


@app.command()
def resync(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(metavar="YYYY-MM-DD", help="Re-pull only what changed or happened since this date."),
    ] = None,
    wait: WaitOption = 0.0,
) -> None:
    """Re-pull and reconcile: repairs missed deletions and rows someone edited by hand."""
    from cohort_service.sync.runner import run_sync

    st = state(ctx)
    st.require_config()
    start = parse_day(since, "--since", st.settings.report.timezone) if since else None
    with st.ui.progress() as progress:
        st.say(run_sync(st.settings, repair=True, since=start, progress=progress, wait_s=wait).lines())


@app.command()
def auth(
    ctx: typer.Context,
    code: Annotated[
        str | None,
        typer.Option("--code", metavar="CODE", help="Authorization code (works once, for 20 minutes)."),
    ] = None,
    refresh_token: Annotated[
        str | None,
        typer.Option(
            "--refresh-token", metavar="TOKEN", help="A refresh token another tool held (it is used up)."
        ),
    ] = None,
) -> None:
    """Exchange an OAuth authorization code (or a refresh token) for tokens and store them.

    Example:

    \b
        cohort-service auth --code def50200a1b2...
    """
    from cohort_service.amocrm.auth import authorize

    st = state(ctx)
    pair = authorize(st.settings, code, engine=st.engine(), refresh_token=refresh_token)
    st.ui.info(
        f"OAuth tokens stored for {st.settings.amocrm.url}; the access token expires "
        f"{pair.expires_at:%Y-%m-%d %H:%M} UTC and is refreshed automatically"
    )


@app.command()
def report(
    ctx: typer.Context,
    *,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="YYYY-MM-DD", help="As of the end of this local day (default: now)."),
    ] = None,
    weeks: Annotated[
        int | None, typer.Option("--weeks", min=1, max=520, help="Weeks to show (default: report.weeks).")
    ] = None,
    csv: Annotated[
        Path | None,
        typer.Option("--csv", metavar="DIR", help="Write cohorts.csv, leads.csv and slices here."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE.xlsx", help="Write the workbook (Cohorts, Pivot, Leads…) here."),
    ] = None,
    csv_dialect: Annotated[
        str | None,
        typer.Option(
            "--csv-dialect",
            metavar="excel-ru|plain|auto",
            help="excel-ru (';', decimal comma) or plain (',', point); default: report.csv_dialect.",
        ),
    ] = None,
) -> None:
    """Build the weekly cohort report from the synced data (no amoCRM calls).

    Without --out or --csv it prints the headline table and the commands that write the files.
    """
    from cohort_service.app.report import ReportRequest, run_report
    from cohort_service.cli_headline import write_files_hint

    if out is not None and out.suffix.lower() != ".xlsx":
        raise typer.BadParameter(
            "the workbook's name must end in .xlsx (Excel opens no other)", param_hint="--out"
        )
    st = state(ctx)
    request = ReportRequest(as_of=optional_day(as_of, "--as-of"), weeks=weeks)
    if csv_dialect is not None and csv_dialect not in DIALECT_CHOICES:
        raise typer.BadParameter(
            f"{csv_dialect!r} is not one of {', '.join(DIALECT_CHOICES)}", param_hint="--csv-dialect"
        )
    dialect = cast("DialectChoice | None", csv_dialect)
    done = run_report(st.settings, request, csv_dir=csv, out=out, csv_dialect=dialect)
    if out is None and csv is None:
        st.show_headline(done.report)
        st.say(done.lines()[:1])
        st.say(write_files_hint(done.report.as_of.date(), config=st.config_path, as_of=as_of, weeks=weeks))
    else:
        st.say(done.lines())


@app.command()
def send(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", metavar="YYYY-MM-DD", help="Report as of the end of this day (default: last Sunday)."
        ),
    ] = None,
    to: Annotated[
        list[str] | None,
        typer.Option("--to", metavar="ADDR", help="Send to these addresses instead of email.to."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Send even if this week was already sent.")] = False,
    wait: WaitOption = 0.0,
) -> None:
    """Sync, build the workbook for the last complete week and e-mail it (once per week and recipient)."""
    from cohort_service.app.preflight import before_sync
    from cohort_service.app.send import run_send

    st = state(ctx)
    st.require_config()
    day = optional_day(as_of, "--as-of")
    before_sync(st.settings)
    with st.ui.progress() as progress:
        result = run_send(st.settings, as_of_day=day, to=to, force=force, progress=progress, sync_wait_s=wait)
    st.say(result.lines())


@app.command()
def serve(ctx: typer.Context) -> None:
    """Run the scheduler: sync every schedule.sync_every, send on schedule.report_cron; stop with SIGTERM."""
    from cohort_service.app.scheduler import jobs_to_stdout
    from cohort_service.app.scheduler import serve as run_daemon

    st = state(ctx)
    jobs_to_stdout()
    run_daemon(st.settings)


@app.command()
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Where to write the workbook.")] = Path(
        "cohorts-demo.xlsx"
    ),
    leads: Annotated[int, typer.Option("--leads", min=1, help="Leads in the simulated account.")] = 20_000,
) -> None:
    """The whole path with no account and no config: simulated amoCRM → sync → report → workbook."""
    from cohort_service.app.demo import run_demo
    from cohort_service.cli_headline import console_for, print_headline

    st = state(ctx)
    with st.ui.progress() as progress:
        data_dir = Path(os.environ.get("COHORT_DATA_DIR") or ".cohort-service")
        result = run_demo(out=out, leads=leads, data_dir=data_dir, progress=progress, say=st.ui.info)
    print_headline(console_for(st.ui.out), result.headline)
    st.say(["", *result.lines()])


@spend_app.command("import")
def spend_import(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="CSV (, ; or TAB) or XLSX files.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be added and replaced; change nothing.")
    ] = False,
) -> None:
    """Import ad spend (date, source, cost; optional campaign, impressions, clicks, currency).

    A row replaces the stored one of the same date, source and campaign. A file with any problem
    imports nothing and every problem is listed as FILE:LINE: column: problem (exit 2).

    \b
        cohort-service spend import yandex-2026-11.csv google.xlsx
    """
    from cohort_service.spend.importer import SpendFileError, import_paths

    st = state(ctx)
    results = import_paths(st.engine(), files, dry_run=dry_run)
    for result in results:
        if result.ok:
            st.say(result.lines())
    problems = [p for r in results if not r.ok for p in r.problems]
    if problems:
        bad = [r.name for r in results if not r.ok]
        raise SpendFileError([*problems, f"nothing imported from {', '.join(bad)}"])


@spend_app.command("list")
def spend_list(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(metavar="YYYY-MM-DD", help="Only days from this date on.")
    ] = None,
) -> None:
    """Show the stored spend, one line per day × source × campaign, and the total per source."""
    from cohort_service.spend.listing import render_listing
    from cohort_service.spend.store import list_spend

    st = state(ctx)
    start = optional_day(since, "--since")
    with st.engine().connect() as conn:
        rows = list_spend(conn, start)
    for line in render_listing(rows):
        st.ui.out.print(line, markup=False)


@app.command()
def simulator(
    *,
    port: Annotated[int, typer.Option(help="Loopback port (0 = any free port).")] = 8765,
    leads: Annotated[int, typer.Option(help="Leads in the generated account.")] = 2000,
    weeks: Annotated[int, typer.Option(help="Weeks of history.")] = 26,
    seed: Annotated[int, typer.Option(help="Generator seed (same seed, same account).")] = 1,
    rps: Annotated[float, typer.Option(help="Rate limit in requests/s (0 = none).")] = 7.0,
    latency_ms: Annotated[
        float, typer.Option(help="Network latency before a request reaches the rate limiter.")
    ] = 0.0,
    jitter_ms: Annotated[
        float, typer.Option(help="Random extra delay (0…N ms) before a request reaches the rate limiter.")
    ] = 0.0,
    error_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests answered 502 (bad weather drills).")
    ] = 0.0,
    no_filters: Annotated[
        bool, typer.Option("--no-filters", help="Account without the API-filter add-on.")
    ] = False,
    token: Annotated[str | None, typer.Option(help="Fix the long-lived token's text.")] = None,
    oauth: Annotated[
        bool,
        typer.Option(
            "--oauth", help="Print an OAuth integration (client id/secret, a refresh token, a code)."
        ),
    ] = False,
) -> None:
    """Serve a simulated amoCRM account on loopback; prints base_url, credentials and a config.toml."""
    from cohort_service.simulator.command import run_simulator

    run_simulator(
        port=port,
        leads=leads,
        weeks=weeks,
        seed=seed,
        rps=rps,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        error_rate=error_rate,
        filters=not no_filters,
        token=token,
        oauth=oauth,
    )


def main() -> None:
    """Console-script entry point: one line per problem, no tracebacks for known failures."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(standalone_mode=True)
    except CohortServiceError as exc:
        ui = UI()
        for line in str(exc).splitlines() or [type(exc).__name__]:
            ui.error(line)
        sys.exit(exc.exit_code)
    except SQLAlchemyError as exc:
        if os.environ.get("COHORT_DEBUG"):
            raise
        UI().error(f"database: {first_line(exc)} (COHORT_DEBUG=1 shows the traceback)")
        sys.exit(1)
