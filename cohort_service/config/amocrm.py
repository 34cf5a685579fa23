"""``[amocrm]`` and ``[amocrm.oauth]``: which account, how it is authenticated, how hard it is asked."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from cohort_service.config.fields import Section, as_duration, clean_secret, not_negative
from cohort_service.config.urls import check_base_url
from cohort_service.errors import ConfigError


class OAuthSettings(Section):
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    redirect_uri: str = Field(min_length=1)

    @field_validator("client_secret")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty (or set COHORT_AMOCRM_CLIENT_SECRET)")
        return clean_secret(value)

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


class AmoSettings(Section):
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

    _duration = field_validator("leads_overlap", "events_overlap", mode="before")(as_duration)

    _overlaps = field_validator("leads_overlap", "events_overlap")(not_negative)

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise ValueError("must not be empty (or set COHORT_AMOCRM_TOKEN)")
        return None if value is None else clean_secret(value)

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
