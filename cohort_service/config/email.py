"""``[email]``: the SMTP server and the weekly message's sender, recipients and subject."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from cohort_service.config.fields import Section
from cohort_service.config.names import check_chars


def _bad_addresses(addresses: list[str]) -> str | None:
    # Imported when a value is checked, not with this module: delivery/addresses.py (the one
    # address rule, also used by ``send --to``) takes check_chars from this package.
    from cohort_service.delivery.addresses import bad_addresses

    return bad_addresses(addresses)


class EmailSettings(Section):
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
    # the whole message as sent (base64 ≈ 4/3 of the file), decimal MB; over it a lighter workbook
    # (no Transitions), else none (delivery/attachment.py)
    max_attachment_mb: float = Field(default=10.0, gt=0)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        if (problem := _bad_addresses(value)) is not None:
            raise ValueError(problem)
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if (problem := _bad_addresses([value])) is not None:
            raise ValueError(problem)
        return value

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        return check_chars(value)  # a line break would start a new header
