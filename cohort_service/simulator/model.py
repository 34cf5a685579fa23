"""The simulated account: reference data as small frozen objects, leads and events as numpy columns.

A million leads with five million status changes must fit in memory and be generated in seconds, so
nothing per-lead or per-event is a Python object. Leads and events are parallel numpy arrays; the
JSON an endpoint returns is built from them only when asked for. A status is stored as a small
integer *code* into ``StatusTable`` (one code per (pipeline, status) pair, because 142/143 exist in
every pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from cohort_service.simulator.ids import EventIdCodec

WON, LOST = 142, 143

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I16 = npt.NDArray[np.int16]
I8 = npt.NDArray[np.int8]
U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]
F32 = npt.NDArray[np.float32]
B = npt.NDArray[np.bool_]

# Event type codes (index into EVENT_TYPES); the generator and the API agree on these.
EVENT_TYPES = (
    "lead_added",
    "lead_status_changed",
    "lead_deleted",
    "lead_restored",
    "entity_responsible_changed",
    "custom_field_value_changed",
    "entity_tag_added",
    "sale_field_changed",
    "contact_added",
)
EV_ADDED, EV_STATUS, EV_DELETED, EV_RESTORED, EV_RESPONSIBLE, EV_FIELD, EV_TAG, EV_SALE, EV_CONTACT = range(9)
EVENT_CODE = {name: code for code, name in enumerate(EVENT_TYPES)}


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str
    lang: str
    is_admin: bool
    is_active: bool
    group_id: int | None


@dataclass(frozen=True)
class Group:
    id: int
    name: str


@dataclass(frozen=True)
class Status:
    id: int
    name: str
    sort: int
    type: int
    color: str
    is_editable: bool


@dataclass(frozen=True)
class Pipeline:
    """Statuses are ordered: Unsorted, the working statuses, won (142), lost (143)."""

    id: int
    name: str
    sort: int
    is_main: bool
    is_archive: bool
    statuses: tuple[Status, ...]

    @property
    def working(self) -> int:
        return len(self.statuses) - 3


@dataclass(frozen=True)
class EnumValue:
    id: int
    value: str
    sort: int


@dataclass(frozen=True)
class CustomField:
    """``key`` names the lead column holding the value; ``event_type`` is the int used in events."""

    id: int
    name: str
    code: str | None
    type: str
    sort: int
    key: str
    event_type: int
    enums: tuple[EnumValue, ...] | None = None
    required: bool = False  # must be filled before the main pipeline's last working stage


@dataclass(frozen=True)
class LossReason:
    id: int
    name: str
    sort: int
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    color: str | None


@dataclass(frozen=True)
class Plant:
    """A planted weak spot: leads of one manager (a user index) or one channel (a channel index),
    created from ``since`` on, are lost far more often at working ``positions`` of the main
    pipeline, so that one funnel step of that segment runs well below the team's."""

    manager: int | None
    channel: int | None
    since: int
    positions: tuple[int, ...]


@dataclass(frozen=True)
class Channel:
    """A marketing source: UTM values (None for organic), share of leads, conversion multiplier."""

    source: str | None
    medium: str | None
    weight: float
    quality: float
    campaigns: tuple[str, ...]


class StatusTable:
    """Codes for (pipeline, position) pairs. Position 0 is Unsorted, W+1 won, W+2 lost."""

    def __init__(self, pipelines: tuple[Pipeline, ...]) -> None:
        self.working = np.array([p.working for p in pipelines], dtype=np.int16)
        sizes = self.working + 3
        self.offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int16)
        self.pipeline_id = np.array([p.id for p in pipelines for _ in p.statuses], dtype=np.int64)
        self.status_id = np.array([s.id for p in pipelines for s in p.statuses], dtype=np.int64)
        self.pipe = np.array([i for i, p in enumerate(pipelines) for _ in p.statuses], dtype=np.int16)
        self.pos = np.array([k for p in pipelines for k in range(len(p.statuses))], dtype=np.int16)
        self.is_won = self.pos == self.working[self.pipe] + 1
        self.is_lost = self.pos == self.working[self.pipe] + 2
        self.is_unsorted = self.pos == 0
        self._by_pair = {
            (int(p), int(s)): code
            for code, (p, s) in enumerate(zip(self.pipeline_id, self.status_id, strict=True))
        }

    def code(self, pipe: npt.NDArray[Any], pos: npt.NDArray[Any]) -> I16:
        codes: I16 = (self.offset[pipe] + pos).astype(np.int16)
        return codes

    def code_of(self, pipeline_id: int, status_id: int) -> int | None:
        return self._by_pair.get((pipeline_id, status_id))


@dataclass
class Columns:
    """Parallel numpy columns; ``extend`` appends another table with the same columns."""

    def extend(self, other: Columns) -> None:
        empty = len(self) == 0  # the first batch is adopted as is: no copy of a million rows
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            setattr(self, f.name, theirs if empty else np.concatenate([mine, theirs]))

    def __len__(self) -> int:
        first = fields(self)[0].name
        return int(getattr(self, first).size)


@dataclass
class Leads(Columns):
    """One row per lead, ordered by id (ids grow with creation time). 0 / -1 mean "none"."""

    id: I64
    created_at: I64
    updated_at: I64
    closed_at: I64
    deleted_at: I64
    code: I16
    init_code: I16
    loss_reason: I16
    responsible: I16
    created_by: I64
    updated_by: I64
    price: I64
    is_deleted: B
    channel: I8
    campaign: I8
    product: I8
    budget: I64
    paid: I8
    meeting: I64
    tags: U8
    contact_id: I64
    company_id: I64
    # simulation state, not visible through the API
    quality: F32
    next_at: I64
    lost_from: I8
    stall: U16  # bit p set: the lead is planted to stall at working position p of the main pipeline


@dataclass
class Events(Columns):
    """One row per event, ordered by (created_at, index); the index is the id's source.

    ``a``/``b`` carry type-specific payload: user indices for responsible changes, field and value
    indices for custom-field changes, a tag index, prices for budget changes.
    """

    created_at: I64
    entity_id: I64
    type: U8
    created_by: I32
    before: I16
    after: I16
    a: I32
    b: I32


@dataclass
class SimAccount:
    """Everything the simulator knows. ``now`` is the simulator clock (Unix seconds)."""

    seed: int
    id: int
    name: str
    subdomain: str
    timezone: str
    created_at: int
    filters_enabled: bool
    loss_reasons_enabled: bool
    unsorted_on: bool
    users: tuple[User, ...]
    groups: tuple[Group, ...]
    pipelines: tuple[Pipeline, ...]
    custom_fields: tuple[CustomField, ...]
    loss_reasons: tuple[LossReason, ...]
    tags: tuple[Tag, ...]
    channels: tuple[Channel, ...]
    leads: Leads
    events: Events
    start: int
    now: int
    weekly_leads: float
    plants: tuple[Plant, ...] = ()
    advances: int = 0
    version: int = 0
    statuses: StatusTable = field(init=False)
    codec: EventIdCodec = field(init=False)
    user_ids: I64 = field(init=False)

    def __post_init__(self) -> None:
        self.statuses = StatusTable(self.pipelines)
        self.codec = EventIdCodec(self.seed)
        self.user_ids = np.array([u.id for u in self.users], dtype=np.int64)

    @property
    def admin(self) -> User:
        return next(u for u in self.users if u.is_admin)

    def user(self, user_id: int) -> User | None:
        return next((u for u in self.users if u.id == user_id), None)

    def field_by_key(self, key: str) -> CustomField:
        return next(f for f in self.custom_fields if f.key == key)

    def lead_index(self, lead_id: int) -> int | None:
        pos = int(np.searchsorted(self.leads.id, lead_id))
        return pos if pos < len(self.leads) and int(self.leads.id[pos]) == lead_id else None

    def event_ids(self, index: I64) -> npt.NDArray[np.str_]:
        return self.codec.encode(index, self.events.created_at[index])

    def event_index(self, event_id: str) -> int | None:
        index = self.codec.decode(event_id)
        if index is None or index >= len(self.events):
            return None
        return index if self.codec.encode_one(index, int(self.events.created_at[index])) == event_id else None
