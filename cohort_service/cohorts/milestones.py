"""Milestones from config, resolved against the synced pipelines (DESIGN §5).

The result is a *level* per known status: the highest milestone a lead at that status has reached.
Reaching milestone k means sitting at one of k's statuses, at any status of the same pipeline whose
``sort`` is at least the lowest sort among k's statuses there, or at won (142). Lost (143) and
Unsorted (type 1) reach nothing; a pipeline holding none of k's statuses reaches k only via 142.
Because "reaching k or any later milestone" is what counts, one number per status is enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cohort_service.cohorts.catalog import LOST, UNSORTED_TYPE, WON, WON_NAME, Catalog, Status
from cohort_service.cohorts.suggest import did_you_mean
from cohort_service.config import Milestone, ReportSettings
from cohort_service.errors import ConfigError

_LIST_LIMIT = 40
MAX_MILESTONES = 60  # the facts SQL keeps one bit per milestone in a bigint


@dataclass(frozen=True)
class MilestoneDef:
    """One configured milestone, resolved: ``position`` is 1-based (milestone k)."""

    position: int
    name: str
    statuses: tuple[Status, ...]

    def describe(self) -> str:
        """The statuses that mark it, for the About sheet: ``Продажи/Встреча, won (142)``."""
        labels = [s.label for s in self.statuses if s.status_id != WON]
        if any(s.status_id == WON for s in self.statuses):
            labels.append("won (142)")
        return ", ".join(labels)


@dataclass(frozen=True)
class Funnel:
    """Ordered milestones plus the level of every known status; the last milestone is the final one."""

    milestones: tuple[MilestoneDef, ...]
    levels: dict[tuple[int, int], int]
    pipeline_ids: tuple[int, ...] | None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.milestones)

    @property
    def final(self) -> MilestoneDef:
        return self.milestones[-1]

    def level_arrays(self) -> tuple[list[int], list[int], list[int]]:
        """(pipeline ids, status ids, levels) for the SQL that maps a point to its level."""
        keys = sorted(self.levels)
        return [p for p, _ in keys], [s for _, s in keys], [self.levels[k] for k in keys]


def _status_listing(catalog: Catalog) -> str:
    labels = sorted(
        s.label
        for s in catalog.statuses.values()
        if s.type != UNSORTED_TYPE and s.status_id not in (WON, LOST)
    )
    if not labels:
        return "no statuses are synced yet (run `cohort-service sync` first)"
    more = f", … and {len(labels) - _LIST_LIMIT} more" if len(labels) > _LIST_LIMIT else ""
    return "statuses that exist: " + ", ".join(labels[:_LIST_LIMIT]) + more


def _status_names(catalog: Catalog, ref: str) -> list[str]:
    """Names a milestone may use, in the form the config used: ``Pipeline/Status`` or bare."""
    usable = [s for s in catalog.statuses.values() if s.type != UNSORTED_TYPE and s.status_id != LOST]
    return [s.label if "/" in ref else s.name for s in usable]


def _by_name(catalog: Catalog, name: str) -> list[Status]:
    want = name.strip().casefold()
    return [s for s in catalog.statuses.values() if s.name.strip().casefold() == want]


def _pipeline_ids(catalog: Catalog, ref: str) -> list[int]:
    want = ref.strip().casefold()
    found = [pid for pid, name in catalog.pipelines.items() if name.strip().casefold() == want]
    if not found and want.isdigit() and int(want) in catalog.pipelines:
        found = [int(want)]
    return found


def _by_path(catalog: Catalog, ref: str) -> list[Status]:
    """``Pipeline/Status``; a name may itself contain '/', so every split point is tried."""
    found: list[Status] = []
    parts = ref.split("/")
    for cut in range(1, len(parts)):
        pipes = set(_pipeline_ids(catalog, "/".join(parts[:cut])))
        status = "/".join(parts[cut:]).strip().casefold()
        found += [
            s
            for s in catalog.statuses.values()
            if s.pipeline_id in pipes and (s.name.strip().casefold() == status or str(s.status_id) == status)
        ]
    return found


def _resolve_ref(catalog: Catalog, ref: str | int, where: str) -> tuple[list[Status], list[str]]:
    """The statuses one config entry names, or the problems with it."""
    if isinstance(ref, int):
        found = [s for s in catalog.statuses.values() if s.status_id == ref]
        if not found and ref == WON:
            found = [_won(catalog, pid) for pid in catalog.pipelines]
        shown = str(ref)
    else:
        found = _by_name(catalog, ref) or _by_path(catalog, ref)
        shown = repr(ref)
    if not found:
        hint = did_you_mean(ref, _status_names(catalog, ref)) if isinstance(ref, str) else ""
        return [], [f"{where}: unknown status {shown}{hint}; {_status_listing(catalog)}"]
    problems = []
    for pid in sorted({s.pipeline_id for s in found}):
        same = [s for s in found if s.pipeline_id == pid]
        if len(same) > 1:
            ids = ", ".join(str(s.status_id) for s in same)
            problems.append(
                f"{where}: status {shown} is ambiguous in pipeline {same[0].pipeline_name!r} "
                f"(ids {ids}); name it by id"
            )
    if any(s.status_id == LOST for s in found):
        problems.append(f"{where}: {shown} is lost (143), which reaches no milestone")
    unsorted = ", ".join(s.label for s in found if s.type == UNSORTED_TYPE)
    if unsorted:
        problems.append(f"{where}: {shown} is Unsorted ({unsorted}), which reaches no milestone")
    return found, problems


def _won(catalog: Catalog, pipeline_id: int) -> Status:
    return Status(pipeline_id, WON, WON_NAME, 10000, 0, catalog.pipelines[pipeline_id])


def _resolve_milestone(
    catalog: Catalog, milestone: Milestone, index: int, source: str
) -> tuple[MilestoneDef, list[str]]:
    statuses: dict[tuple[int, int], Status] = {}
    problems: list[str] = []
    for ref in milestone.statuses:
        found, errs = _resolve_ref(catalog, ref, f"{source}: report.milestones[{index}].statuses")
        problems += errs
        statuses.update((s.key, s) for s in found)
    ordered = tuple(sorted(statuses.values(), key=lambda s: (s.pipeline_name, s.sort, s.status_id)))
    return MilestoneDef(position=index + 1, name=milestone.name, statuses=ordered), problems


def status_levels(catalog: Catalog, milestones: Sequence[MilestoneDef]) -> dict[tuple[int, int], int]:
    """Highest milestone each known status reaches, by the rules in the module docstring."""
    final = len(milestones)
    floors: list[dict[int, int]] = []  # per milestone: pipeline → lowest sort among its statuses
    for m in milestones:
        floor: dict[int, int] = {}
        for s in m.statuses:
            if s.status_id != WON:
                floor[s.pipeline_id] = min(floor.get(s.pipeline_id, s.sort), s.sort)
        floors.append(floor)
    levels: dict[tuple[int, int], int] = {}
    for status in catalog.statuses.values():
        levels[status.key] = _level(status, milestones, floors, final)
    return levels


def _level(
    status: Status, milestones: Sequence[MilestoneDef], floors: list[dict[int, int]], final: int
) -> int:
    if status.status_id == WON:
        return final
    if status.status_id == LOST or status.type == UNSORTED_TYPE:
        return 0
    level = 0
    for m, floor in zip(milestones, floors, strict=True):
        listed = any(s.key == status.key for s in m.statuses)
        later = status.pipeline_id in floor and status.sort >= floor[status.pipeline_id]
        if listed or later:
            level = m.position
    return level


def _resolve_pipelines(
    catalog: Catalog, refs: Sequence[str | int], source: str
) -> tuple[tuple[int, ...], list[str]]:
    ids: list[int] = []
    problems: list[str] = []
    listing = (
        ", ".join(sorted(catalog.pipelines.values())) or "none synced yet (run `cohort-service sync` first)"
    )
    for i, ref in enumerate(refs):
        found = [ref] if isinstance(ref, int) and ref in catalog.pipelines else []
        if isinstance(ref, str):
            found = _pipeline_ids(catalog, ref)
        if not found:
            hint = did_you_mean(ref, catalog.pipelines.values()) if isinstance(ref, str) else ""
            problems.append(
                f"{source}: report.pipelines[{i}]: unknown pipeline {ref!r}{hint}; "
                f"pipelines that exist: {listing}"
            )
        elif len(found) > 1:
            problems.append(
                f"{source}: report.pipelines[{i}]: pipeline name {ref!r} is ambiguous; name it by id"
            )
        else:
            ids.append(found[0])
    return tuple(sorted(set(ids))), problems


def resolve_funnel(report: ReportSettings, catalog: Catalog, *, source: str) -> Funnel:
    """Milestones and the pipeline filter from config; every problem at once, as one ConfigError."""
    if not report.milestones:
        raise ConfigError([f"{source}: report.milestones: at least one milestone is required"])
    if len(report.milestones) > MAX_MILESTONES:
        raise ConfigError([f"{source}: report.milestones: at most {MAX_MILESTONES} milestones"])
    problems: list[str] = []
    resolved = []
    for i, milestone in enumerate(report.milestones):
        definition, errs = _resolve_milestone(catalog, milestone, i, source)
        resolved.append(definition)
        problems += errs
    pipeline_ids, errs = _resolve_pipelines(catalog, report.pipelines, source)
    problems += errs
    if problems:
        raise ConfigError(problems)
    return Funnel(
        milestones=tuple(resolved),
        levels=status_levels(catalog, resolved),
        pipeline_ids=pipeline_ids or None,
    )
