"""amoCRM API v4 client: the only package that knows amoCRM's wire format.

Public surface: ``build_client`` → ``AmoClient`` (typed reads, thread-safe), the schemas, ``Page``,
``StatsSnapshot``, and ``authorize`` for ``cohort-service auth --code``.
"""

from cohort_service.amocrm.auth import authorize
from cohort_service.amocrm.client import AmoClient, build_client
from cohort_service.amocrm.pagination import Page, PaginationLoopError
from cohort_service.amocrm.ratelimit import RateLimiter, limiter_for
from cohort_service.amocrm.schemas import (
    LOST_STATUS_ID,
    WON_STATUS_ID,
    Account,
    CustomField,
    DeletedLead,
    Event,
    FieldEnum,
    Lead,
    LossReason,
    Pipeline,
    Status,
    StatusRef,
    Tag,
    User,
)
from cohort_service.amocrm.stats import RequestStats, StatsSnapshot
from cohort_service.amocrm.transport import RetriesExhaustedError

__all__ = [
    "LOST_STATUS_ID",
    "WON_STATUS_ID",
    "Account",
    "AmoClient",
    "CustomField",
    "DeletedLead",
    "Event",
    "FieldEnum",
    "Lead",
    "LossReason",
    "Page",
    "PaginationLoopError",
    "Pipeline",
    "RateLimiter",
    "RequestStats",
    "RetriesExhaustedError",
    "StatsSnapshot",
    "Status",
    "StatusRef",
    "Tag",
    "User",
    "authorize",
    "build_client",
    "limiter_for",
]
