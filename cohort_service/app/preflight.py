"""The report config checked against the live account, before minutes of pulling.

A milestone status, pipeline or dimension field the account does not have used to surface only
when the report was built, after the sync had pulled everything. Two or three requests
(pipelines with their statuses, lead custom fields) read the account's real names; the same
resolution the report uses (cohorts/milestones.py, cohorts/dimensions.py) then lists every
problem at once, each with the closest real names ("did you mean …").

``doctor`` always runs it; ``sync`` and ``send`` run it before a first sync only (an empty
database: the long pull), so a quiet incremental sync keeps its request budget.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select

from cohort_service.amocrm.client import AmoClient
from cohort_service.cohorts.catalog import Catalog, CustomField, Status
from cohort_service.cohorts.dimensions import resolve_dimensions
from cohort_service.cohorts.milestones import resolve_funnel
from cohort_service.config import Settings
from cohort_service.db import models
from cohort_service.errors import CohortServiceError, ConfigError

log = logging.getLogger(__name__)


def live_catalog(client: AmoClient) -> Catalog:
    """Pipelines, statuses and lead custom fields as the account has them now."""
    pipelines = client.pipelines()
    names = {p.id: p.name for p in pipelines}
    statuses = {
        (p.id, s.id): Status(p.id, s.id, s.name, s.sort, s.type, p.name)
        for p in pipelines
        for s in p.statuses
    }
    fields = {f.id: CustomField(f.id, f.name, f.code, f.type) for f in client.custom_fields()}
    return Catalog(pipelines=names, statuses=statuses, custom_fields=fields)


def config_problems(settings: Settings, catalog: Catalog) -> list[str]:
    """Every report-config problem against ``catalog``; empty when the report would resolve."""
    report, problems = settings.report, []
    if report.milestones or report.pipelines:
        try:
            resolve_funnel(report, catalog, source=settings.source)
        except ConfigError as exc:
            problems += exc.problems
    if report.dimensions:
        try:
            resolve_dimensions(report, catalog, source=settings.source)
        except ConfigError as exc:
            problems += exc.problems
    return problems


def check_report_config(settings: Settings, client: AmoClient) -> None:
    """Raise ``ConfigError`` (exit 2) listing what the live account does not have."""
    problems = config_problems(settings, live_catalog(client))
    if problems:
        raise ConfigError([*problems, "(checked against the live amoCRM account before syncing)"])


def first_sync(engine: Engine) -> bool:
    """No lead stored yet: the next sync is the long full pull."""
    with engine.connect() as conn:
        return conn.execute(select(models.leads.c.id).limit(1)).first() is None


def before_sync(settings: Settings) -> None:
    """``sync``/``send``: on an empty database with a report configured, check the config first."""
    report = settings.report
    if not settings.amocrm.configured or not (report.milestones or report.pipelines or report.dimensions):
        return
    from cohort_service.amocrm.client import build_client
    from cohort_service.db.engine import get_engine
    from cohort_service.db.migrate import upgrade

    engine = get_engine(settings)
    upgrade(engine)
    if not first_sync(engine):
        return
    with build_client(settings, engine=engine) as client:
        try:
            check_report_config(settings, client)
        except ConfigError:
            raise
        except CohortServiceError as exc:  # unreachable, refused: the sync itself reports that
            log.info("report config not checked against the account: %s", str(exc).splitlines()[0])
