"""From the cohort engine's report to the e-mail's headline (wired when the engine lands)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from cohort_service.config import Settings
from cohort_service.delivery.headline import Headline
from cohort_service.errors import DeliveryError


def build_report_outputs(settings: Settings, engine: Engine, as_of: datetime, path: Path) -> Headline:
    del settings, engine, as_of, path
    raise DeliveryError("the cohort report is not available in this build yet")
