"""`cohort-service doctor`: each check says what is wrong and the one thing to do about it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text

from cohort_service.config import Settings
from cohort_service.errors import CohortServiceError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


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
                f"{where}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
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
    return Check("config valid", True, f"{settings.source}")


CHECKS: list[Callable[[Settings], list[Check]]] = [check_database]


def run_checks(settings: Settings) -> list[Check]:
    results = [config_check(settings)]
    for check in CHECKS:
        results.extend(check(settings))
    return results
