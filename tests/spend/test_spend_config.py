"""[spend] and [[plan]]: the example loads; a key naming something that does not exist is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohort_service.config import load_settings
from cohort_service.errors import ConfigError
from tests.helpers.report_config import report_toml

ROOT = Path(__file__).resolve().parents[2]
BASE = report_toml([("qualified", ["Квалификация"]), ("paid", [142])], [("source", "UTM_SOURCE")])


def test_example_spend_and_plan() -> None:
    settings = load_settings(ROOT / "config.example.toml", env={})
    assert settings.spend.dimension == "source"
    assert settings.spend.aliases["Яндекс.Директ"] == "yandex"
    assert settings.spend.folder is None
    assert [(p.month, p.targets) for p in settings.plan] == [
        ("2026-12", {"leads": 1200, "paid": 60, "revenue": 3000000, "spend": 900000})
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[spend]\ndimension = "utm"\n',
            "cfg.toml: spend.dimension: 'utm' is not a [[report.dimensions]] name (source)",
        ),
        (
            '[[plan]]\nmonth = "2026-12"\npayd = 5\n',
            "cfg.toml: plan[0].payd: unknown; use leads, revenue, spend, qualified, paid",
        ),
        ('[[plan]]\nmonth = "2026-13"\nleads = 5\n', "cfg.toml: plan[0].month: must be a month like 2026-12"),
        (
            '[[plan]]\nmonth = "2026-12"\nleads = "many"\n',
            "cfg.toml: plan[0]: leads must be a number of at least 0",
        ),
        (
            '[[plan]]\nmonth = "2026-12"\n',
            "cfg.toml: plan[0]: needs at least one of leads, revenue, spend or a milestone name",
        ),
        (
            '[[plan]]\nmonth = "2026-12"\nleads = 1\n[[plan]]\nmonth = "2026-12"\nleads = 2\n',
            "cfg.toml: plan[1].month: 2026-12 is planned twice",
        ),
        (
            '[spend.aliases]\n"Google" = ""\n',
            "cfg.toml: spend.aliases: source names and the values they map to must not be empty",
        ),
    ],
)
def test_bad_spend_and_plan_keys(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text(BASE + text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(caught.value).replace(str(tmp_path) + "/", "") == expected


def test_doctor_spend_folder(tmp_path: Path) -> None:
    from cohort_service.app.doctor import check_spend_folder
    from tests.conftest import make_settings

    assert [(c.ok, c.detail) for c in check_spend_folder(make_settings())] == [
        (True, "not configured (spend.folder is empty) — skipped")
    ]
    missing = tmp_path / "nope"
    [bad] = check_spend_folder(make_settings(spend={"folder": str(missing)}))
    assert (bad.ok, bad.detail) == (False, f"{missing} is not a directory")
    assert bad.fix == "create it or fix spend.folder"
    (tmp_path / "a.csv").write_text("date,source,cost\n")
    (tmp_path / "notes.md").write_text("x")
    [good] = check_spend_folder(make_settings(spend={"folder": str(tmp_path)}))
    assert (good.ok, good.detail) == (True, f"{tmp_path}: 1 spend files")
