"""Config: the example loads; each malformed config gives exactly its one-line message and exit 2."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from cohort_service.config import load_settings, parse_duration
from cohort_service.errors import ConfigError
from tests.conftest import CliResult

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
    assert settings.schedule.sync_every == timedelta(hours=1)
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[report]\nweeks = "twelve"\n', "report.weeks: must be an integer"),
        ("[report]\nweeks = 0\n", "report.weeks: must be at least 1"),
        ("[amocrm]\ntokn = 'x'\n", "amocrm.tokn: unknown key"),
        ("[amocrm]\nrequests_per_second = 0\n", "amocrm.requests_per_second: must be greater than 0"),
        (
            "[amocrm]\nsubdomain = 'My Company'\n",
            "amocrm.subdomain: must be the account's subdomain, e.g. 'mycompany' for mycompany.amocrm.ru",
        ),
        (
            "[amocrm]\nbase_url = 'ftp://x'\n",
            "amocrm.base_url: must be an http(s) URL such as https://mycompany.amocrm.ru",
        ),
        (
            "[[report.milestones]]\nname='a'\nstatuses=['x']\n[[report.milestones]]\nname='b'\nstatuses=['y']\n"
            "[[report.milestones]]\nname='c'\nstatuses=[]\n",
            "report.milestones[2].statuses: must not be empty",
        ),
        ("[[report.milestones]]\nstatuses=['x']\n", "report.milestones[0].name: required"),
        (
            "[report]\ntimezone = 'Mars/Olympus'\n",
            "report.timezone: unknown time zone 'Mars/Olympus' (use an IANA name like Europe/Moscow)",
        ),
        ("[report]\nage_days = [7, -1]\n", "report.age_days: every age must be a positive number of days"),
        (
            "[schedule]\nsync_every = 'often'\n",
            "schedule.sync_every: must be a duration like 30s, 15m, 1h, 2d or 1w",
        ),
        (
            "[schedule]\nreport_cron = '0 7 mon'\n",
            "schedule.report_cron: must be a 5-field cron expression, e.g. '0 7 * * mon'",
        ),
        (
            "[email]\nhost = 'smtp'\nfrom = 'a@b'\nto = ['nobody']\n",
            "email.to: not an e-mail address: nobody",
        ),
        ("[email]\nhost = 'smtp'\nto = ['a@b.c']\n", "email.from: required"),
        (
            "[email]\nhost = 'smtp'\nfrom='a@b'\nto=['a@b']\nsecurity = 'tls'\n",
            "email.security: must be one of 'starttls', 'ssl' or 'none'",
        ),
        (
            "[database]\nurl = 'mysql://x'\n",
            "database.url: must be a postgresql:// URL (leave empty for the embedded Postgres)",
        ),
        (
            "[service]\nlog_level = 'loud'\n",
            "service.log_level: must be one of 'debug', 'info', 'warning' or 'error'",
        ),
        ("report = 5\n", "report: must be a table"),
    ],
    ids=lambda value: value if len(value) < 30 else None,
)
def test_malformed_config_one_line_exit_2(
    tmp_path: Path, run_cli: Callable[..., CliResult], text: str, expected: str
) -> None:
    """`cohort-service --config bad.toml doctor` → exactly one error line naming file and key, exit 2."""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    result = run_cli("--config", str(path), "doctor")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: {path}: {expected}"]
    assert "Traceback" not in result.stderr + result.stdout


def test_every_problem_is_reported_at_once(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[report]\nweeks = -3\nage_days = 'x'\n[amocrm]\nmax_attempts = 0\n", encoding="utf-8")
    result = run_cli("--config", str(path), "doctor")
    assert result.exit_code == 2
    assert sorted(result.stderr.strip().splitlines()) == sorted(
        [
            f"error: {path}: amocrm.max_attempts: must be at least 1",
            f"error: {path}: report.weeks: must be at least 1",
            f"error: {path}: report.age_days: must be a list",
        ]
    )


def test_toml_syntax_error_names_line(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[report\nweeks = 3\n", encoding="utf-8")
    result = run_cli("--config", str(path), "doctor")
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: invalid TOML: ")
    assert "line 1" in line


def test_duplicate_names_and_unknown_target(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[[report.milestones]]\nname='a'\nstatuses=[1]\n[[report.dimensions]]\nname='a'\nfield='X'\n"
        "[[report.targets]]\nmilestone='zzz'\ntarget=0.5\n",
        encoding="utf-8",
    )
    result = run_cli("--config", str(path), "doctor")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: report: milestone and dimension names must be unique; repeated: a"
    ]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("1h", 3600), ("2d", 172800), ("1w", 604800)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
