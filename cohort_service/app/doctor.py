"""`cohort-service doctor`: each check says what is wrong and the one thing to do about it."""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text

from cohort_service.config import Settings, no_config_found
from cohort_service.errors import CohortServiceError, first_line

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cohort_service.amocrm.client import AmoClient


@dataclass(frozen=True)
class Check:
    """One line of the table. ``skipped``: nothing to check (a tool left unconfigured); not a
    failure, and never shown as a tick, since nothing was proven to work."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    skipped: bool = False

    @property
    def mark(self) -> str:
        return "–" if self.skipped else ("✓" if self.ok else "✗")


def check_database(settings: Settings) -> list[Check]:
    from cohort_service.db.engine import describe_url, get_engine
    from cohort_service.db.migrate import current_revision, head_revision

    where = "embedded Postgres" if settings.database.url is None else "database.url"
    try:
        engine = get_engine(settings)
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
            revision = current_revision(conn)
    except CohortServiceError as exc:
        return [Check("database reachable", False, str(exc), "fix the problem above, then run doctor again")]
    except Exception as exc:  # any driver error is a reason, shown without the password
        return [
            Check(
                "database reachable",
                False,
                f"{where}: {type(exc).__name__}: {first_line(exc)[:200]}",
                "check database.url (or COHORT_DATABASE_URL), that Postgres runs and accepts the login",
            )
        ]
    checks = [
        Check("database reachable", True, f"{where}: {describe_url(str(engine.url))} (Postgres {version})")
    ]
    head = head_revision()
    if revision == head:
        checks.append(Check("database migrated", True, f"schema at revision {head}"))
    else:
        checks.append(
            Check(
                "database migrated",
                False,
                f"schema at {revision or 'nothing (empty database)'}, expected {head}",
                "run: cohort-service db upgrade",
            )
        )
    return checks


def config_check(settings: Settings) -> Check:
    missing = no_config_found(settings)
    if missing is not None:
        where, fix = missing
        return Check("config file", False, where, fix)
    return Check("config valid", True, f"{settings.source}")


def _not_configured(name: str, why: str) -> list[Check]:
    return [Check(name, True, f"not configured ({why}) — skipped", skipped=True)]


def _amo_reachable(settings: Settings, engine: Engine | None) -> Check:
    """Any HTTP answer (401 included) proves DNS, TLS and routing; only no answer is a failure.

    The probe is a request like any other for amoCRM's limit: it takes its start from the account's
    limiter (and shared budget), as the client's requests do."""
    import httpx

    from cohort_service.amocrm.budget import SharedBudget
    from cohort_service.amocrm.ratelimit import limiter_for

    url = settings.amocrm.url
    shared = SharedBudget(engine, url) if engine is not None else None
    limiter_for(url, settings.amocrm.requests_per_second, shared=shared).acquire()
    try:
        response = httpx.get(f"{url}/api/v4/account", timeout=settings.amocrm.connect_timeout_s + 5)
    except httpx.HTTPError as exc:
        return Check(
            "amoCRM reachable",
            False,
            f"{url}: {type(exc).__name__}: {first_line(exc)[:160] if str(exc).strip() else 'no answer'}",
            "check amocrm.subdomain / amocrm.base_url, DNS and any proxy or firewall on the way",
        )
    return Check("amoCRM reachable", True, f"{url} answers (HTTP {response.status_code} without a token)")


def _amo_account(settings: Settings, client: AmoClient) -> list[Check]:
    from cohort_service.errors import AmoAuthError

    try:
        account = client.account()
    except AmoAuthError as exc:
        fix = (
            "run `cohort-service auth --code CODE` with a fresh authorization code"
            if settings.amocrm.oauth is not None
            else "generate a new long-lived token (integration → Keys and access) and set COHORT_AMOCRM_TOKEN"
        )
        return [Check("amoCRM token valid", False, first_line(exc)[:200], fix)]
    zone = account.timezone
    report_zone = settings.report.timezone
    zone_note = f"; the report uses {report_zone}" if report_zone and report_zone != zone else ""
    addon = (
        "on: incremental lead sync filters by updated_at"
        if account.is_api_filter_enabled
        else ("off: incremental lead sync orders by updated_at and stops at the last sync (works without it)")
    )
    return [
        Check("amoCRM token valid", True, f"account {account.name!r} ({account.subdomain}, id {account.id})"),
        Check("amoCRM filter add-on", True, addon),
        Check("amoCRM time zone", True, f"{zone}{zone_note}"),
    ]


def _amo_admin(client: AmoClient) -> Check:
    from cohort_service.errors import AmoBlockedError

    try:
        users = client.users()
    except AmoBlockedError:
        return Check(
            "amoCRM admin rights",
            False,
            "GET /api/v4/users → 403: the token's user is not an account administrator",
            "issue the token (or authorize the integration) as an administrator; managers' names need it",
        )
    return Check("amoCRM admin rights", True, f"users readable ({len(users)} users)")


def check_amocrm(settings: Settings, engine: Engine | None = None) -> list[Check]:
    """``engine``: the migrated database, whose request budget the checks' requests are taken from
    (the one a running sync uses), so doctor beside a sync never pushes the account over its limit."""
    if not settings.amocrm.configured:
        return _not_configured("amoCRM", "set amocrm.subdomain or amocrm.base_url")
    reachable = _amo_reachable(settings, engine)
    if not reachable.ok:
        return [reachable]
    from cohort_service.amocrm.client import build_client

    quick = settings.amocrm.model_copy(update={"max_attempts": 2, "max_delay_s": 5.0})
    try:
        client = build_client(settings.model_copy(update={"amocrm": quick}), engine=engine)
    except CohortServiceError as exc:
        return [reachable, Check("amoCRM token valid", False, first_line(exc), _CREDENTIALS_FIX)]
    checks = [reachable]
    try:
        checks += _amo_account(settings, client)
        if checks[-1].ok:
            checks.append(_amo_admin(client))
            report = settings.report
            if report.milestones or report.pipelines or report.dimensions:
                checks.append(_report_names(settings, client))
    except CohortServiceError as exc:
        checks.append(Check("amoCRM API", False, first_line(exc)[:200], "run doctor again later"))
    finally:
        client.close()
    return checks


def _report_names(settings: Settings, client: AmoClient) -> Check:
    """Milestone statuses, pipelines and dimension fields exist in the account (2–3 requests)."""
    from cohort_service.app.preflight import config_problems, live_catalog

    problems = config_problems(settings, live_catalog(client))
    if problems:
        shown = "; ".join(p.removeprefix(f"{settings.source}: ") for p in problems[:3])
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        return Check(
            "report names exist in amoCRM",
            False,
            shown[:600] + more,
            "write the names as the account has them (the suggestions above), then run doctor again",
        )
    report = settings.report
    what = f"{len(report.milestones)} milestones, {len(report.dimensions)} dimensions"
    return Check("report names exist in amoCRM", True, f"{what} resolve against the live account")


_CREDENTIALS_FIX = (
    "set amocrm.token (or COHORT_AMOCRM_TOKEN), or configure [amocrm.oauth] and run `cohort-service auth`"
)


def check_smtp(settings: Settings) -> list[Check]:
    """Connect, EHLO, STARTTLS/SSL and log in as configured; no message is sent."""
    cfg = settings.email
    if cfg is None:
        return _not_configured("SMTP", "no email section in the config")
    from cohort_service.delivery.email import describe_smtp_error, open_smtp

    where = f"{cfg.host}:{cfg.port} ({cfg.security})"
    try:
        with open_smtp(cfg):
            pass
    except CohortServiceError as exc:
        return [Check("SMTP login", False, first_line(exc), "set COHORT_SMTP_PASSWORD")]
    except (OSError, smtplib.SMTPException) as exc:
        reason, _ = describe_smtp_error(exc, cfg)
        return [Check("SMTP login", False, reason, _smtp_fix(exc))]
    who = f"logged in as {cfg.user}" if cfg.user else "no login configured"
    return [Check("SMTP login", True, f"{where}: connected, {who}; no mail sent")]


def _smtp_fix(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "check email.user and COHORT_SMTP_PASSWORD (some providers need an app password)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "use the host name on the server's certificate, or add its CA to this machine's trust store"
    if isinstance(exc, (ssl.SSLError, smtplib.SMTPNotSupportedError)):
        return "check email.security: starttls usually on port 587, ssl on 465"
    return "check email.host, email.port and that this machine may connect to it (firewall)"


def check_spend_folder(settings: Settings) -> list[Check]:
    """``spend.folder`` must be a readable directory, or every Monday's import silently finds nothing."""
    folder = settings.spend.folder
    if folder is None:
        return _not_configured("spend folder", "spend.folder is empty")
    if not folder.is_dir():
        return [Check("spend folder", False, f"{folder} is not a directory", "create it or fix spend.folder")]
    if not os.access(folder, os.R_OK | os.X_OK):
        return [Check("spend folder", False, f"{folder} is not readable", "let the service's user read it")]
    from cohort_service.spend.importer import spend_files_in

    return [Check("spend folder", True, f"{folder}: {len(spend_files_in(folder))} spend files")]


CHECKS: list[Callable[[Settings], list[Check]]] = [check_smtp, check_spend_folder]


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in order; amoCRM's requests count against the database's shared budget when the
    database checks passed (the budget's table exists), else against this process's pace alone."""
    config = config_check(settings)
    database = _database_checks(settings, config)
    engine = _budget_engine(settings) if database and all(c.ok and not c.skipped for c in database) else None
    results = [config, *database, *check_amocrm(settings, engine)]
    for check in CHECKS:
        results.extend(check(settings))
    return results


def _database_checks(settings: Settings, config: Check) -> list[Check]:
    """With no config file the database is the embedded default: checked when it exists already,
    never created in whatever directory doctor was run from."""
    if config.ok or settings.database.url is not None:
        return check_database(settings)
    pgdata = settings.service.data_dir / "pgdata"
    if pgdata.is_dir():
        return check_database(settings)
    return _not_configured("database", f"no config file, and no embedded database in {pgdata.resolve()}")


def _budget_engine(settings: Settings) -> Engine:
    from cohort_service.db.engine import get_engine

    return get_engine(settings)
