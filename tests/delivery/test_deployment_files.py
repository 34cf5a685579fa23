"""What can be checked of the Docker files without a Docker engine: they agree with the repo."""

from __future__ import annotations

import re
from pathlib import Path

from cohort_service.config import ENV_OVERRIDES

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


def _copies() -> list[str]:
    sources: list[str] = []
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            sources += line.split()[1:-1]
    return sources


def test_every_copied_path_exists_and_is_not_docker_ignored() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"
    }
    assert _copies() == ["pyproject.toml", "README.md", "cohort_service", "migrations"]
    for source in _copies():
        assert (ROOT / source).exists(), source
        assert source not in ignored


def test_image_installs_like_the_quick_start() -> None:
    """The builder runs README's install command, with the venv in /opt and a non-editable install."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = re.search(r"python3 -m venv \.venv && \. \.venv/bin/activate && pip install -q -e \.", readme)
    assert quick is not None
    expected = quick.group(0).replace(".venv", "/opt/venv").replace("-e .", ".")
    assert f"RUN {expected}\n" in DOCKERFILE


def test_runtime_stage_is_non_root_and_serves() -> None:
    runtime = DOCKERFILE.split("\nFROM ")[-1]
    assert re.search(r"^USER cohort$", runtime, re.MULTILINE)
    assert 'ENTRYPOINT ["cohort-service"]' in runtime
    assert 'CMD ["serve"]' in runtime
    assert "COHORT_CONFIG=/config/config.toml" in runtime
    assert "COHORT_DATA_DIR=/data" in runtime


def test_compose_passes_only_variables_the_config_reads() -> None:
    names = set(re.findall(r"^\s+(COHORT_[A-Z_]+):", COMPOSE, re.MULTILINE))
    assert names == {
        "COHORT_DATABASE_URL",
        "COHORT_AMOCRM_TOKEN",
        "COHORT_AMOCRM_CLIENT_SECRET",
        "COHORT_SMTP_PASSWORD",
    }
    assert names <= set(ENV_OVERRIDES)
    assert "./config.toml:/config/config.toml:ro" in COMPOSE
    assert "data:/data" in COMPOSE
    assert "postgresql://cohort:${POSTGRES_PASSWORD}@db:5432/cohort" in COMPOSE
