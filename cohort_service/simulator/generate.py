"""The deterministic account generator: same arguments, same account, same response bytes.

``generate_account`` builds the reference data, creates leads over ``weeks`` weeks with weekly
seasonality and noise, then plays every lead's life (``paths``) up to ``end`` — the moment the
simulator clock starts. Everything is drawn from one seeded numpy generator in a fixed order.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from cohort_service.simulator import noise, paths
from cohort_service.simulator.catalog import CHANNELS, PRODUCTS, build_catalog
from cohort_service.simulator.events import EventBuffer, touch_leads
from cohort_service.simulator.model import I64, Leads, Plant, SimAccount, StatusTable

DAY, WEEK = 86400, 7 * 86400
LIVE_TIMEZONE = "Europe/Moscow"
DEFAULT_END = (2026, 11, 16, 9, 0)  # a Monday morning, account-local; fixed so runs are reproducible
_WEEKDAY_WEIGHT = np.array([1.0, 1.08, 1.04, 1.0, 0.92, 0.45, 0.35])


def generate_account(
    *,
    seed: int,
    leads: int,
    weeks: int,
    timezone: str = "Europe/Moscow",
    end: datetime | None = None,
    filters_enabled: bool = True,
    loss_reasons_enabled: bool = True,
    unsorted_on: bool = True,
    plants: bool = False,
) -> SimAccount:
    """A whole account whose history ends at ``end`` (default 2026-11-16 09:00 account-local).

    ``plants`` adds the weak spots the attention list must find (see :func:`attention_plants`)."""
    if leads < 0 or weeks < 1:
        raise ValueError("leads must be >= 0 and weeks >= 1")
    zone = ZoneInfo(timezone)
    end_ts = _end_timestamp(end, zone)
    start = end_ts - weeks * WEEK
    rng = np.random.default_rng(seed)
    cat = build_catalog(rng, seed=seed, start=start)
    account = SimAccount(
        seed=seed,
        id=cat.account_id,
        name=cat.name,
        subdomain=cat.subdomain,
        timezone=timezone,
        created_at=cat.created_at,
        filters_enabled=filters_enabled,
        loss_reasons_enabled=loss_reasons_enabled,
        unsorted_on=unsorted_on,
        users=cat.users,
        groups=cat.groups,
        pipelines=cat.pipelines,
        custom_fields=cat.custom_fields,
        loss_reasons=cat.loss_reasons,
        tags=cat.tags,
        channels=CHANNELS,
        leads=_empty_leads(),
        events=EventBuffer().to_events(),
        start=start,
        now=end_ts,
        weekly_leads=leads / weeks,
    )
    if plants:
        account.plants = attention_plants(account)
    times = creation_times(rng, leads, start, end_ts, zone)
    grow(account, rng, times, horizon=end_ts)
    return account


def live_account(
    *, seed: int, leads: int, weeks: int, end: datetime | None = None, **options: bool
) -> SimAccount:
    """An account whose history runs up to ``end`` (default: now) in Moscow time, as the demo and the
    ``simulator`` command serve it, so a report right after the sync shows this week."""
    end = end or datetime.now(ZoneInfo(LIVE_TIMEZONE))
    return generate_account(seed=seed, leads=leads, weeks=weeks, timezone=LIVE_TIMEZONE, end=end, **options)


def _end_timestamp(end: datetime | None, zone: ZoneInfo) -> int:
    """``end`` as Unix seconds; naive means account-local; None means the fixed default moment."""
    moment = end if end is not None else datetime(*DEFAULT_END, tzinfo=zone)
    return int((moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)).timestamp())


def grow(account: SimAccount, rng: np.random.Generator, times: I64, *, horizon: int) -> None:
    """Add leads created at ``times``, play all pending decisions up to ``horizon``, merge events."""
    before = len(account.leads)
    new = new_leads(account, rng, times)
    new.updated_at = np.minimum(new.updated_at, horizon)
    account.leads.extend(new)
    out = EventBuffer()
    noise.creation_events(account, rng, np.arange(before, len(account.leads)), out, horizon)
    proc = paths.Process(
        leads=account.leads,
        statuses=account.statuses,
        user_ids=account.user_ids,
        admin_id=account.admin.id,
        reasons=len(account.loss_reasons) if account.loss_reasons_enabled else 0,
        rng=rng,
        out=out,
    )
    paths.run(proc, np.flatnonzero(account.leads.next_at), horizon)
    fresh = out.to_events()
    touch_leads(account.leads, fresh)
    account.events.extend(fresh)
    account.now = horizon
    account.version += 1


def creation_times(rng: np.random.Generator, count: int, start: int, end: int, zone: ZoneInfo) -> I64:
    """Sorted creation moments in (start, end]: seasonality, weekdays, business hours, noise."""
    first_day = datetime.fromtimestamp(start, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    days = (end - int(first_day.timestamp())) // DAY + 2
    midnights = np.array([_local_midnight(first_day, d) for d in range(days)], dtype=np.int64)
    weight = _day_weights(rng, midnights, zone)
    out = np.empty(0, dtype=np.int64)
    for _ in range(20):
        if out.size >= count:
            break
        need = int((count - out.size) * 1.2) + 16
        day = rng.choice(days, size=need, p=weight / weight.sum())
        hour = np.where(
            rng.random(need) < 0.85, np.clip(rng.normal(13.5, 3.2, need), 7, 23.5), rng.random(need) * 24
        )
        t = midnights[day] + (hour * 3600).astype(np.int64)
        out = np.concatenate([out, t[(t > start) & (t <= end)]])
    if out.size < count:  # a window of minutes: business hours barely matter, spread evenly
        out = np.concatenate([out, rng.integers(start + 1, end + 1, count - out.size)])
    return np.sort(out[:count])


def _local_midnight(first_day: datetime, offset_days: int) -> int:
    day = datetime.fromordinal(first_day.toordinal() + offset_days)
    return int(day.replace(tzinfo=first_day.tzinfo).timestamp())


def _day_weights(rng: np.random.Generator, midnights: I64, zone: ZoneInfo) -> npt.NDArray[np.float64]:
    """Weekday shape × yearly wave × holiday dips × a slow trend × weekly noise."""
    dates = [datetime.fromtimestamp(int(m), zone) for m in midnights]
    weekday = np.array([d.weekday() for d in dates])
    doy = np.array([d.timetuple().tm_yday for d in dates], dtype=np.float64)
    season = 1 + 0.22 * np.sin(2 * np.pi * (doy - 60) / 365.25)
    holiday = np.array(
        [0.3 if (d.month == 1 and d.day <= 8) or (d.month == 5 and d.day <= 10) else 1.0 for d in dates]
    )
    trend = np.linspace(0.85, 1.15, midnights.size)
    week_noise = np.exp(0.15 * rng.standard_normal(midnights.size // 7 + 1))[np.arange(midnights.size) // 7]
    weight: npt.NDArray[np.float64] = _WEEKDAY_WEIGHT[weekday] * season * holiday * trend * week_noise
    return weight


def attention_plants(account: SimAccount) -> tuple[Plant, ...]:
    """Two weak spots, placed in the main pipeline's thirds (where the demo puts its milestones):
    the busiest active manager loses many leads between the second and the third milestone from a
    sixth of the history on (mature cohorts must show it); ``vk`` leads are lost before the second
    milestone (rarely qualify)."""
    working = account.pipelines[0].working
    first, second, third = (round(i * (working - 1) / 3) + 1 for i in range(3))
    share, _ = manager_mix(account)
    active = [i for i, u in enumerate(account.users) if u.is_active and not u.is_admin]
    manager = max(active, key=lambda i: share[i])
    vk = next(i for i, c in enumerate(account.channels) if c.source == "vk")
    since = account.start + (account.now - account.start) // 6
    return (
        Plant(manager=manager, channel=None, since=since, positions=tuple(range(second, third))),
        Plant(manager=None, channel=vk, since=account.start, positions=tuple(range(first, second))),
    )


def _stalls(account: SimAccount, leads: Leads) -> None:
    for plant in account.plants:
        hit = leads.created_at >= plant.since
        if plant.manager is not None:
            hit &= leads.responsible == plant.manager
        if plant.channel is not None:
            hit &= leads.channel == plant.channel
        bits = np.uint16(sum(1 << p for p in plant.positions))
        leads.stall = np.where(hit, leads.stall | bits, leads.stall).astype(np.uint16)


def _empty_leads() -> Leads:
    return new_leads_from_columns({})


def new_leads_from_columns(cols: dict[str, np.ndarray]) -> Leads:
    """A Leads table from the given columns; missing ones are empty (used for the first, empty table)."""
    template = _zero_leads(0)
    return Leads(**{name: cols.get(name, getattr(template, name)) for name in template.__dataclass_fields__})


def _zero_leads(n: int) -> Leads:
    z64, z16, z8 = np.zeros(n, np.int64), np.zeros(n, np.int16), np.zeros(n, np.int8)
    return Leads(
        id=z64.copy(),
        created_at=z64.copy(),
        updated_at=z64.copy(),
        closed_at=z64.copy(),
        deleted_at=z64.copy(),
        code=z16.copy(),
        init_code=z16.copy(),
        loss_reason=z16 - 1,
        responsible=z16.copy(),
        created_by=z64.copy(),
        updated_by=z64.copy(),
        price=z64.copy(),
        is_deleted=np.zeros(n, np.bool_),
        channel=z8.copy(),
        campaign=z8 - 1,
        product=z8 - 1,
        budget=z64 - 1,
        paid=z8 - 1,
        meeting=z64.copy(),
        tags=np.zeros(n, np.uint8),
        contact_id=z64.copy(),
        company_id=z64.copy(),
        quality=np.zeros(n, np.float32),
        next_at=z64.copy(),
        lost_from=z8.copy(),
        stall=np.zeros(n, np.uint16),
    )


def new_leads(account: SimAccount, rng: np.random.Generator, times: I64) -> Leads:
    """Leads created at ``times`` with ids, owners, marketing fields and their initial status."""
    n = times.size
    leads = _zero_leads(n)
    last_id = int(account.leads.id[-1]) if len(account.leads) else 20_000_000 + account.seed % 9973 * 1000
    leads.id = last_id + np.cumsum(rng.integers(1, 30, n))
    leads.created_at = times
    _owners(account, rng, leads)
    _marketing(account, rng, leads)
    _initial_status(account.statuses, account.unsorted_on, rng, leads)
    _stalls(account, leads)
    leads.updated_at = times + rng.integers(0, 8, n)
    leads.updated_by = leads.created_by.copy()
    leads.next_at = leads.created_at + paths.dwell(rng, account.statuses, leads.code)
    return leads


def manager_mix(account: SimAccount) -> tuple[np.ndarray, np.ndarray]:
    """Per user: share of new leads and a conversion multiplier (fixed per account)."""
    r = np.random.default_rng([account.seed, 7])
    share = r.uniform(0.4, 1.6, len(account.users))
    share[0] = 0.15  # the admin takes few leads
    quality = np.exp(0.3 * r.standard_normal(len(account.users)))
    return share / share.sum(), quality


def _owners(account: SimAccount, rng: np.random.Generator, leads: Leads) -> None:
    """Responsible manager; users who left only own leads from the first half of the history."""
    n = len(leads)
    share, quality = manager_mix(account)
    owner = rng.choice(len(account.users), size=n, p=share)
    active = np.array([u.is_active for u in account.users])
    midpoint = account.start + (account.now - account.start) // 2
    late = ~active[owner] & (leads.created_at > midpoint)
    owner[late] = rng.choice(np.flatnonzero(active), size=int(late.sum()))
    leads.responsible = owner.astype(np.int16)
    by_form = rng.random(n) < 0.4
    leads.created_by = np.where(by_form, 0, account.user_ids[owner])
    leads.quality = (quality[owner] * np.exp(0.25 * rng.standard_normal(n))).astype(np.float32)


def _marketing(account: SimAccount, rng: np.random.Generator, leads: Leads) -> None:
    n = len(leads)
    weights = np.array([c.weight for c in account.channels])
    channel = rng.choice(len(account.channels), size=n, p=weights / weights.sum())
    leads.channel = channel.astype(np.int8)
    n_campaigns = np.array([len(c.campaigns) for c in account.channels])[channel]
    leads.campaign = np.where(n_campaigns > 0, (rng.random(n) * n_campaigns).astype(np.int64), -1).astype(
        np.int8
    )
    leads.quality *= np.array([c.quality for c in account.channels], dtype=np.float32)[channel]
    product = rng.integers(0, len(PRODUCTS), n)
    leads.product = np.where(rng.random(n) < 0.85, product, -1).astype(np.int8)
    base = np.array([p for _, p in PRODUCTS])[product]
    price = np.round(base * np.exp(0.35 * rng.standard_normal(n)), -2).astype(np.int64)
    leads.price = np.where(rng.random(n) < 0.08, 0, price)
    leads.budget = np.where(rng.random(n) < 0.3, np.round(price * rng.uniform(0.8, 1.5, n), -3), -1).astype(
        np.int64
    )
    leads.paid = np.where(rng.random(n) < 0.2, rng.integers(0, 2, n), -1).astype(np.int8)
    meeting_day = leads.created_at // DAY + rng.integers(1, 15, n)
    leads.meeting = np.where(
        rng.random(n) < 0.2, _local_midnights(meeting_day, ZoneInfo(account.timezone)), 0
    )
    bits = (rng.random((n, len(account.tags))) < 0.07) * (1 << np.arange(len(account.tags)))
    leads.tags = bits.sum(axis=1).astype(np.uint8)
    leads.contact_id = np.where(rng.random(n) < 0.75, leads.id * 2 + 1, 0)
    companies = 60_000_000 + account.seed % 1000 * 10_000 + rng.integers(0, max(n // 20, 1) + 10, n)
    leads.company_id = np.where(rng.random(n) < 0.3, companies, 0)


def _local_midnights(days: I64, zone: ZoneInfo) -> I64:
    """Epoch of local midnight for UTC day numbers: how amoCRM stores date fields."""
    uniq, inverse = np.unique(days, return_inverse=True)
    local = [datetime.fromtimestamp(int(d) * DAY, zone).replace(hour=0, minute=0, second=0) for d in uniq]
    return np.array([int(m.timestamp()) for m in local], dtype=np.int64)[inverse]


def _initial_status(st: StatusTable, unsorted_on: bool, rng: np.random.Generator, leads: Leads) -> None:
    """Main pipeline for most; Unsorted, the first stage, or mid-funnel for a few."""
    n = len(leads)
    pipes = st.working.size
    pipe_weight = np.full(pipes, 0.4 / max(pipes - 1, 1))
    pipe_weight[0] = 0.6 if pipes > 1 else 1.0
    pipe = rng.choice(pipes, size=n, p=pipe_weight)
    start_weight = np.array([0.5 if unsorted_on else 0.0, 0.38, 0.08, 0.04])
    pos = rng.choice(4, size=n, p=start_weight / start_weight.sum())
    pos = np.minimum(pos, st.working[pipe])
    leads.code = st.code(pipe, pos)
    leads.init_code = leads.code.copy()
    leads.created_by = np.where(pos == 0, 0, leads.created_by)
