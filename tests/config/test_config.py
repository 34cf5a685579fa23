"""Config: the example loads, env overrides, all problems at once (malformed ones: test_malformed_configs)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cohort_service.config import load_settings, parse_duration
from cohort_service.errors import ConfigError
from tests.conftest import DoctorWith

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_loads_with_every_section() -> None:
    """config.example.toml documents every key and validates as shipped."""
    settings = load_settings(ROOT / "config.example.toml", env={})
    assert settings.amocrm.url == "https://mycompany.amocrm.ru"
    assert settings.amocrm.requests_per_second == 7
    assert settings.amocrm.leads_overlap == timedelta(minutes=10)
    assert [m.name for m in settings.report.milestones] == ["target", "qualified", "proposal", "paid"]
    assert settings.report.milestones[3].statuses == [142]
    assert [d.field for d in settings.report.dimensions] == ["UTM_SOURCE", "Продукт"]
    assert settings.report.age_days == [7, 14, 30]
    assert settings.report.csv_dialect == "auto"
    assert settings.schedule.sync_every == timedelta(hours=1)
    assert settings.service.lock_wait == timedelta(minutes=15)
    assert settings.email is not None
    assert settings.email.sender == "Cohort reports <reports@example.com>"
    assert settings.database.url is None


def test_env_overrides_secrets_and_keeps_them_secret() -> None:
    settings = load_settings(
        ROOT / "config.example.toml",
        env={"COHORT_AMOCRM_TOKEN": "tok-123", "COHORT_SMTP_PASSWORD": "pw-456"},
    )
    assert settings.amocrm.token is not None
    assert settings.amocrm.token.get_secret_value() == "tok-123"
    assert settings.email is not None
    assert settings.email.password is not None
    assert "pw-456" not in repr(settings)
    assert "tok-123" not in repr(settings)


def test_missing_default_config_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, env={})
    assert settings.source == "<defaults>"
    assert settings.report.weeks == 12


def test_explicit_missing_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_every_problem_is_reported_at_once(doctor_with: DoctorWith) -> None:
    path, result = doctor_with("[report]\nweeks = -3\nage_days = 'x'\n[amocrm]\nmax_attempts = 0\n")
    assert result.exit_code == 2
    assert sorted(result.stderr.strip().splitlines()) == sorted(
        [
            f"error: {path}: amocrm.max_attempts: must be at least 1",
            f"error: {path}: report.weeks: must be at least 1",
            f"error: {path}: report.age_days: must be a list",
        ]
    )


def test_toml_syntax_error_names_line(doctor_with: DoctorWith) -> None:
    path, result = doctor_with("[report\nweeks = 3\n")
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: invalid TOML: ")
    assert "line 1" in line


def test_duplicate_names_and_unknown_target(doctor_with: DoctorWith) -> None:
    path, result = doctor_with(
        "[[report.milestones]]\nname='a'\nstatuses=[1]\n[[report.dimensions]]\nname='a'\nfield='X'\n"
        "[[report.targets]]\nmilestone='zzz'\ntarget=0.5\n"
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: report.dimensions[0].name: repeats report.milestones[0].name; names must be unique",
        f"error: {path}: report.targets[0].milestone: unknown milestone 'zzz' (a)",
    ]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("1h", 3600), ("2d", 172800), ("1w", 604800)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
