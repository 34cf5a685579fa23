"""``cohort-service db rebuild-facts``: rebuild the kept path summary (``lead_paths``) in full.

Under the run lock shared with sync and report, in one transaction: a reader sees the old summary
or the new one, never half of each.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from cohort_service.cohorts.catalog import load_catalog
from cohort_service.cohorts.milestones import resolve_funnel
from cohort_service.cohorts.paths import fingerprint, rebuild_paths
from cohort_service.config import Settings
from cohort_service.db.lock import run_lock
from cohort_service.db.migrate import upgrade

LOCK_PURPOSE = "db rebuild-facts"


@dataclass(frozen=True)
class Rebuilt:
    leads: int
    fingerprint: str


def rebuild_facts(settings: Settings, engine: Engine, *, wait_s: float = 0.0) -> Rebuilt:
    upgrade(engine)
    with run_lock(engine, LOCK_PURPOSE, wait_s=wait_s), engine.connect() as conn, conn.begin():
        funnel = resolve_funnel(settings.report, load_catalog(conn), source=settings.source)
        return Rebuilt(rebuild_paths(conn, funnel), fingerprint(funnel))
