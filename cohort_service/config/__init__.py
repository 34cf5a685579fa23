"""Settings: TOML plus ``COHORT_*`` environment variables, validated once at the CLI boundary.

Nothing here runs at import time. ``load_settings`` collects *every* problem and raises one
``ConfigError`` whose lines each name the file and the key path, e.g.
``config.toml: report.milestones[2].statuses: must not be empty``.

One module per TOML table (``service``: [service], [database], [schedule]; ``amocrm``; ``report``;
``email``; ``spend``; ``plan``), the rules they share (``fields``), the rules for names that become
columns and files (``names``) and for the account's URL (``urls``), the whole file (``settings``),
reading it (``loader``) and the error lines (``messages``). A new key: its section's module and
``config.example.toml``.
"""

from cohort_service.config.amocrm import AmoSettings, OAuthSettings
from cohort_service.config.email import EmailSettings
from cohort_service.config.fields import MAX_AGE_DAYS, MAX_ID, load_zone, parse_duration
from cohort_service.config.loader import (
    DEFAULT_CONFIG_PATH,
    DEFAULTS_SOURCE,
    ENV_OVERRIDES,
    load_settings,
    no_config_found,
    read_toml,
    resolve_config_path,
    settings_from_mapping,
)
from cohort_service.config.plan import PLAN_FIXED_KEYS, PlanEntry
from cohort_service.config.report import Dimension, Milestone, ReportSettings, Target
from cohort_service.config.service import MIN_SYNC_EVERY, DatabaseSettings, ScheduleSettings, ServiceSettings
from cohort_service.config.settings import Settings
from cohort_service.config.spend import SpendSettings

__all__ = [
    "DEFAULTS_SOURCE",
    "DEFAULT_CONFIG_PATH",
    "ENV_OVERRIDES",
    "MAX_AGE_DAYS",
    "MAX_ID",
    "MIN_SYNC_EVERY",
    "PLAN_FIXED_KEYS",
    "AmoSettings",
    "DatabaseSettings",
    "Dimension",
    "EmailSettings",
    "Milestone",
    "OAuthSettings",
    "PlanEntry",
    "ReportSettings",
    "ScheduleSettings",
    "ServiceSettings",
    "Settings",
    "SpendSettings",
    "Target",
    "load_settings",
    "load_zone",
    "no_config_found",
    "parse_duration",
    "read_toml",
    "resolve_config_path",
    "settings_from_mapping",
]
