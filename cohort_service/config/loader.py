"""Reading the settings: the TOML file, then ``COHORT_*`` environment overrides, validated at once."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cohort_service.config.messages import problem_lines
from cohort_service.config.settings import Settings, cross_problems
from cohort_service.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config.toml")
DEFAULTS_SOURCE = "<defaults>"  # Settings.source when no config file was found

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


def _set_path(data: dict[str, Any], path: Sequence[str], value: str) -> None:
    node = data
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


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
        raise ConfigError(problem_lines(exc, source)) from None
    problems = cross_problems(settings, source)
    if problems:
        raise ConfigError(problems)
    return settings


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
        return settings_from_mapping({}, source=DEFAULTS_SOURCE, env=env)
    return settings_from_mapping(read_toml(path), source=str(path), env=env)


def no_config_found(settings: Settings) -> tuple[str, str] | None:
    """When no config file was read: where one was looked for, and what to do (two phrases).

    Only the default place is ever searched (``resolve_config_path``): ``--config`` and
    ``COHORT_CONFIG`` name a file that must exist, and their absence is what sent us there.
    """
    if settings.source != DEFAULTS_SOURCE:
        return None
    where = (Path.cwd() / DEFAULT_CONFIG_PATH).resolve()
    return (
        f"no config file found: looked for {where} (no --config given, COHORT_CONFIG not set)",
        "copy config.example.toml to config.toml and fill it in, or pass --config PATH",
    )
