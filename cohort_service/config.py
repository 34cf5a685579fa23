"""Settings: TOML plus ``COHORT_*`` environment variables, validated once at the CLI boundary.

Nothing here runs at import time. ``load_settings`` collects *every* problem and raises one
``ConfigError`` whose lines each name the file and the key path, e.g.
``config.toml: report.milestones[2].statuses: must not be empty``.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cohort_service.config_names import check_chars, check_dimension_name, check_milestone_name, name_clashes
from cohort_service.config_urls import check_base_url
from cohort_service.delivery.addresses import bad_addresses
from cohort_service.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config.toml")

# Secrets (and the database URL, which may hold a password) can come from the environment
# so that the TOML file can be committed or mounted read-only.
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "COHORT_AMOCRM_TOKEN": ("amocrm", "token"),
    "COHORT_AMOCRM_BASE_URL": ("amocrm", "base_url"),
    "COHORT_AMOCRM_CLIENT_SECRET": ("amocrm", "oauth", "client_secret"),
    "COHORT_DATABASE_URL": ("database", "url"),
    "COHORT_SMTP_PASSWORD": ("email", "password"),
    "COHORT_DATA_DIR": ("service", "data_dir"),
}

MIN_SYNC_EVERY = timedelta(minutes=1)
MAX_AGE_DAYS = 3650
MAX_ID = 2**63 - 1
_DURATION_RE = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``"30m"`` → 30 minutes. Durations in config read better than bare seconds."""
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError("must be a duration like 30s, 15m, 1h, 2d or 1w")
    try:
        return timedelta(seconds=int(match.group(1)) * _DURATION_UNITS[match.group(2)])
    except OverflowError:
        raise ValueError("is too long a duration") from None


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("must not be negative")
    return value


def _clean_path(value: Path) -> Path:
    """A path from config: not empty (that would mean the current directory), no control characters."""
    text = str(value)
    if not text or text == ".":
        raise ValueError("must not be empty")
    check_chars(text)
    return value


def _names_or_ids(value: object, what: str) -> object:
    """TOML would let ``1.5`` or ``true`` through as an id; only names (strings) and integers mean one."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, bool) or not isinstance(item, str | int):
                shown = json.dumps(item, default=str, ensure_ascii=False)
                raise ValueError(f"must hold {what} names or ids, not {shown}")  # noqa: TRY004 - pydantic's kind
    return value


def _ids_in_range(value: list[str | int]) -> list[str | int]:
    """amoCRM ids are positive and fit Postgres's bigint; anything else can match nothing."""
    for item in value:
        if isinstance(item, str):
            check_chars(item)
        elif not 0 < item <= MAX_ID:
            raise ValueError(f"{item} is not an amoCRM id (ids are 1 to {MAX_ID})")
    return value


def _clean_secret(value: SecretStr) -> SecretStr:
    """A token or secret pasted with a line break would split an HTTP header; never echoed."""
    secret = value.get_secret_value()
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in secret):
        raise ValueError("must not contain spaces, line breaks or control characters (check the paste)")
    return value


def load_zone(name: str) -> ZoneInfo | None:
    """The IANA zone, or None when the name is none this machine's tz database knows (a typo, a
    directory such as ``Europe``, a path): config and the account's zone are checked alike."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)


class ServiceSettings(_Section):
    data_dir: Path = Path(".cohort-service")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # How long the weekly job, and the report inside any send, queue behind a running sync (or
    # send) for its database lock before giving up; a plain `sync`/`report` uses --wait instead.
    lock_wait: timedelta = timedelta(minutes=15)

    _data_dir = field_validator("data_dir")(_clean_path)
    _lock_wait = field_validator("lock_wait")(_not_negative)

    @field_validator("lock_wait", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value


class OAuthSettings(_Section):
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    redirect_uri: str = Field(min_length=1)

    @field_validator("client_secret")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty (or set COHORT_AMOCRM_CLIENT_SECRET)")
        return _clean_secret(value)

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str) -> str:
        if any(ch.isspace() or ord(ch) < 0x20 for ch in value):
            raise ValueError("must not contain spaces or control characters")
        return value

    @field_validator("redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value):
            raise ValueError("must be the integration's redirect URI, an http(s) URL")
        return value


class AmoSettings(_Section):
    subdomain: str | None = None
    # Declared before base_url: its check reads this (cleartext http:// beyond loopback).
    allow_insecure: bool = False
    base_url: str | None = None
    token: SecretStr | None = None
    oauth: OAuthSettings | None = None
    requests_per_second: float = Field(default=7.0, gt=0, le=50)
    max_in_flight: int = Field(default=4, ge=1, le=32)
    timeout_s: float = Field(default=30.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=6, ge=1, le=20)
    backoff_factor_s: float = Field(default=1.0, ge=0)
    max_delay_s: float = Field(default=120.0, gt=0)
    leads_overlap: timedelta = timedelta(minutes=10)
    events_overlap: timedelta = timedelta(minutes=10)

    @field_validator("leads_overlap", "events_overlap", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    _overlaps = field_validator("leads_overlap", "events_overlap")(_not_negative)

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise ValueError("must not be empty (or set COHORT_AMOCRM_TOKEN)")
        return None if value is None else _clean_secret(value)

    @field_validator("subdomain")
    @classmethod
    def _subdomain(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
            raise ValueError("must be the account's subdomain, e.g. 'mycompany' for mycompany.amocrm.ru")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        return check_base_url(value, allow_insecure=bool(info.data.get("allow_insecure")))

    @model_validator(mode="after")
    def _one_auth(self) -> AmoSettings:
        if self.token is not None and self.oauth is not None:
            raise ValueError("set either token (long-lived) or [amocrm.oauth], not both")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.subdomain or self.base_url)

    @property
    def url(self) -> str:
        """The account's API root; ``base_url`` wins (Kommo, a proxy, the simulator)."""
        if self.base_url:
            return self.base_url
        if self.subdomain:
            return f"https://{self.subdomain}.amocrm.ru"
        raise ConfigError(["amocrm.subdomain: required (or amocrm.base_url)"])


class DatabaseSettings(_Section):
    url: SecretStr | None = None

    @field_validator("url", mode="before")
    @classmethod
    def _empty_is_embedded(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.match(r"^postgres(ql)?(\+psycopg)?://", value.get_secret_value()):
            raise ValueError("must be a postgresql:// URL (leave empty for the embedded Postgres)")
        return value


class Milestone(_Section):
    name: str = Field(min_length=1, max_length=60)
    statuses: list[str | int] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name_chars(cls, value: str) -> str:
        if value.endswith(" at") or any(ch in value for ch in "[]'\"#"):
            raise ValueError("must not end with ' at' or contain [ ] ' \" # (it becomes a column name)")
        return check_milestone_name(value)

    @field_validator("statuses", mode="before")
    @classmethod
    def _names_or_ids(cls, value: object) -> object:
        return _names_or_ids(value, "status")

    @field_validator("statuses")
    @classmethod
    def _no_blank(cls, value: list[str | int]) -> list[str | int]:
        for item in value:
            if isinstance(item, str) and not item.strip():
                raise ValueError("must not contain empty status names")
        return _ids_in_range(value)


class Dimension(_Section):
    """A column analysts slice by: a custom field by code or name, or a built-in."""

    name: str = Field(min_length=1, max_length=60)
    field: str = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_dimension_name(value)


class Target(_Section):
    """Per-step target conversion: for the whole team (the e-mail's anomaly flags) or, with
    ``where``, for one segment (the attention list), e.g. ``where = { manager = "Анна Попова" }``.
    A manager is named by name or amoCRM user id; any other key is ``pipeline`` or a dimension."""

    milestone: str = Field(min_length=1)
    target: float = Field(gt=0, le=1)
    tolerance: float = Field(default=0.1, ge=0, le=1)
    where: dict[str, str | int] = Field(default_factory=dict)

    @field_validator("where")
    @classmethod
    def _where_values(cls, value: dict[str, str | int]) -> dict[str, str | int]:
        for key, item in value.items():
            if isinstance(item, str) and not item.strip():
                raise ValueError(f"{key}: must not be empty")
        return value


class ReportSettings(_Section):
    timezone: str | None = None
    weeks: int = Field(default=12, ge=1, le=520)
    pipelines: list[str | int] = Field(default_factory=list)
    age_days: list[int] = Field(default_factory=lambda: [7, 14, 30])
    milestones: list[Milestone] = Field(default_factory=list)
    dimensions: list[Dimension] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)
    attention_weeks: int = Field(default=8, ge=1, le=520)
    attention_min_leads: int = Field(default=30, ge=1)
    attention_fdr: float = Field(default=0.02, gt=0, lt=1)
    anomaly_min_leads: int = Field(default=30, ge=1)
    mature_after_days: int | None = Field(default=None, ge=1, le=MAX_AGE_DAYS)
    forecast_history_weeks: int = Field(default=52, ge=4, le=520)
    out_dir: Path = Path("reports")

    _out_dir = field_validator("out_dir")(_clean_path)
    _pipeline_ids = field_validator("pipelines")(_ids_in_range)

    @field_validator("pipelines", mode="before")
    @classmethod
    def _names_or_ids(cls, value: object) -> object:
        return _names_or_ids(value, "pipeline")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if not value:
            return None
        if load_zone(value) is None:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Moscow)")
        return value

    @field_validator("age_days")
    @classmethod
    def _ages(cls, value: list[int]) -> list[int]:
        if any(day <= 0 for day in value):
            raise ValueError("every age must be a positive number of days")
        if any(day > MAX_AGE_DAYS for day in value):
            raise ValueError(f"every age must be at most {MAX_AGE_DAYS} days (10 years)")
        if len(set(value)) != len(value):
            raise ValueError("must not repeat an age")
        return sorted(value)

    @model_validator(mode="after")
    def _target_segments(self) -> ReportSettings:
        segments = {"manager", "pipeline", *(d.name for d in self.dimensions)}
        bad = sorted({key for t in self.targets for key in t.where if key not in segments})
        if bad:
            raise ValueError(
                f"targets: where names unknown dimensions: {', '.join(bad)}"
                f" (use manager, pipeline or a report.dimensions name)"
            )
        return self

    def problems(self) -> list[str]:
        """What only the names together can tell, one ``report.<key>: …`` line each (run once valid)."""
        milestones = [m.name for m in self.milestones]
        problems = name_clashes(milestones, [d.name for d in self.dimensions])
        for i, target in enumerate(self.targets):
            if target.milestone not in milestones:
                known = ", ".join(milestones) or "none configured"
                name = target.milestone
                problems.append(f"report.targets[{i}].milestone: unknown milestone {name!r} ({known})")
        return problems


class ScheduleSettings(_Section):
    sync_every: timedelta = timedelta(hours=1)
    report_cron: str = "0 7 * * mon"
    catchup_grace: timedelta = timedelta(hours=36)

    @field_validator("sync_every", "catchup_grace", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    _grace = field_validator("catchup_grace")(_not_negative)

    @field_validator("sync_every")
    @classmethod
    def _sync_every(cls, value: timedelta) -> timedelta:
        if value < MIN_SYNC_EVERY:
            raise ValueError("must be at least 1m (more often only spends amoCRM's rate limit)")
        return value

    @field_validator("report_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("must be a 5-field cron expression, e.g. '0 7 * * mon'")
        from cohort_service.cron import cron_trigger

        try:
            cron_trigger(value, ZoneInfo("UTC"))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid cron expression ({exc})") from None
        return value


class EmailSettings(_Section):
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    user: str | None = None
    password: SecretStr | None = None
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    subject: str = "Lead cohorts — week of {week_start:%d.%m.%Y}"
    max_attempts: int = Field(default=4, ge=1, le=10)
    timeout_s: float = Field(default=30.0, gt=0)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        if (problem := bad_addresses(value)) is not None:
            raise ValueError(problem)
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if (problem := bad_addresses([value])) is not None:
            raise ValueError(problem)
        return value

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        return check_chars(value)  # a line break would start a new header


class SpendSettings(_Section):
    """Ad spend (``spend import``) and how its sources meet the leads' source dimension."""

    dimension: str | None = None
    aliases: dict[str, str] = Field(default_factory=dict)
    folder: Path | None = None

    @field_validator("dimension", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: dict[str, str]) -> dict[str, str]:
        blank = [k for k, v in value.items() if not k.strip() or not v.strip()]
        if blank:
            raise ValueError("source names and the values they map to must not be empty")
        return {k.strip(): v.strip() for k, v in value.items()}


_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
PLAN_FIXED_KEYS = ("leads", "revenue", "spend")


class PlanEntry(BaseModel):
    """``[[plan]]``: a month's targets; any of leads, revenue, spend and milestone names."""

    model_config = ConfigDict(extra="allow", frozen=True)

    month: str

    @field_validator("month")
    @classmethod
    def _month(cls, value: str) -> str:
        if not _MONTH_RE.match(value.strip()):
            raise ValueError("must be a month like 2026-12")
        return value.strip()

    @model_validator(mode="after")
    def _numbers(self) -> PlanEntry:
        for key, value in self.targets.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{key} must be a number of at least 0")
        if not self.targets:
            raise ValueError(f"needs at least one of {', '.join(PLAN_FIXED_KEYS)} or a milestone name")
        return self

    @property
    def targets(self) -> dict[str, float]:
        """What the month plans: key → amount (the TOML keys other than ``month``)."""
        return dict(self.model_extra or {})


class Settings(_Section):
    service: ServiceSettings = ServiceSettings()
    amocrm: AmoSettings = AmoSettings()
    database: DatabaseSettings = DatabaseSettings()
    report: ReportSettings = ReportSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    email: EmailSettings | None = None
    spend: SpendSettings = SpendSettings()
    plan: list[PlanEntry] = Field(default_factory=list)

    # Where the settings came from, for messages ("config.toml: ..."); not a TOML key.
    source: str = Field(default="<defaults>", exclude=True)


def _set_path(data: dict[str, Any], path: Sequence[str], value: str) -> None:
    node = data
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


def _loc_to_path(loc: Sequence[int | str]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("function-after", "function-before") or "[" in item:
            continue  # pydantic's internal validator frames
        else:
            parts.append(("." if parts else "") + ("from" if item == "sender" else item))
    return "".join(parts) or "(top level)"


_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown key",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be a table",
    "dict_type": "must be a table",
    "model_attributes_type": "must be a table",
}


def _num(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_CTX_MESSAGES: dict[str, tuple[str, str]] = {
    "too_short": ("must not be empty", ""),
    "string_too_short": ("must not be empty", ""),
    "too_long": ("is too long (at most {})", "max_length"),
    "string_too_long": ("is too long (at most {})", "max_length"),
    "greater_than": ("must be greater than {}", "gt"),
    "greater_than_equal": ("must be at least {}", "ge"),
    "less_than_equal": ("must be at most {}", "le"),
    "literal_error": ("must be one of {}", "expected"),
    "timedelta_type": ("must be a duration like 30s, 15m, 1h, 2d or 1w", ""),
    "timedelta_parsing": ("must be a duration like 30s, 15m, 1h, 2d or 1w", ""),
    "path_type": ("must be a path", ""),
}


def _message(err: Mapping[str, Any]) -> str:
    """pydantic's wording, rewritten as the short imperative a config author acts on."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind in _CTX_MESSAGES:
        template, key = _CTX_MESSAGES[kind]
        return template.format(_num(ctx.get(key))) if key else template
    return str(err["msg"])


_UNION_MEMBERS = ("str", "int", "constrained-str", "constrained-int")


def _problems(exc: ValidationError, source: str) -> list[str]:
    lines: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        # A union (str | int) reports one error per member; the first one is enough.
        loc = tuple(item for item in err["loc"] if item not in _UNION_MEMBERS)
        path = _loc_to_path(loc)
        lines.setdefault(path, f"{source}: {path}: {_message(err)}")
    return list(lines.values())


def read_toml(path: Path) -> dict[str, Any]:
    """Read the TOML file; a syntax error is a ConfigError naming the line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found (pass --config or set COHORT_CONFIG)"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}"]) from None


def settings_from_mapping(data: Mapping[str, Any], *, source: str, env: Mapping[str, str]) -> Settings:
    """Validate already-parsed TOML data plus environment overrides."""
    merged: dict[str, Any] = _deep_copy(data)
    for var, path in ENV_OVERRIDES.items():
        if env.get(var):
            _set_path(merged, path, env[var])
    merged["source"] = source
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, source)) from None
    problems = _cross_problems(settings, source)
    if problems:
        raise ConfigError(problems)
    return settings


def _cross_problems(settings: Settings, source: str) -> list[str]:
    """Keys that name something elsewhere: names among themselves, targets, spend.dimension, plans."""
    problems = [f"{source}: {line}" for line in settings.report.problems()]
    dims = [d.name for d in settings.report.dimensions]
    if settings.spend.dimension is not None and settings.spend.dimension not in dims:
        known = ", ".join(dims) or "none are configured"
        problems.append(
            f"{source}: spend.dimension: {settings.spend.dimension!r} is not a"
            f" [[report.dimensions]] name ({known})"
        )
    allowed = [*PLAN_FIXED_KEYS, *(m.name for m in settings.report.milestones)]
    months: set[str] = set()
    for i, entry in enumerate(settings.plan):
        if entry.month in months:
            problems.append(f"{source}: plan[{i}].month: {entry.month} is planned twice")
        months.add(entry.month)
        for key in entry.targets:
            if key not in allowed:
                problems.append(f"{source}: plan[{i}].{key}: unknown; use {', '.join(allowed)}")
    return problems


def _deep_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _deep_copy(val) if isinstance(val, Mapping) else val for key, val in data.items()}


def resolve_config_path(explicit: Path | None, env: Mapping[str, str]) -> tuple[Path, bool]:
    """Return the path to read and whether the user asked for it (a missing explicit file is an error)."""
    if explicit is not None:
        return explicit, True
    if env.get("COHORT_CONFIG"):
        return Path(env["COHORT_CONFIG"]), True
    return DEFAULT_CONFIG_PATH, False


def load_settings(explicit: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read TOML, overlay COHORT_* env vars, validate; raise ConfigError listing all problems.

    With no ``--config``/``COHORT_CONFIG`` and no ``./config.toml`` the defaults apply, so
    ``db upgrade`` and ``doctor`` work in an empty directory.
    """
    env = os.environ if env is None else env
    path, required = resolve_config_path(explicit, env)
    if not required and not path.exists():
        return settings_from_mapping({}, source="<defaults>", env=env)
    return settings_from_mapping(read_toml(path), source=str(path), env=env)
