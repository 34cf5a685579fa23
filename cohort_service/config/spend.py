"""``[spend]``: ad spend files and how their source names meet the leads' source dimension."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from cohort_service.config.fields import Section


class SpendSettings(Section):
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
