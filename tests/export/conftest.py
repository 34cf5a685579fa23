"""Fixtures: the sample lead rows and a read-only workbook built from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers.leads_sample import build_workbook, sample_rows


@pytest.fixture(scope="session")
def leads_rows() -> list[tuple[Any, ...]]:
    return sample_rows()


@pytest.fixture(scope="session")
def sample_xlsx(tmp_path_factory: pytest.TempPathFactory, leads_rows: list[tuple[Any, ...]]) -> Path:
    """Read-only: the 200-lead workbook with both pivots. Copy it before changing it."""
    path = tmp_path_factory.mktemp("sample") / "sample.xlsx"
    build_workbook(path, leads_rows)
    return path
