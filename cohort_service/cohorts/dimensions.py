"""Configured dimensions (``[[report.dimensions]]``): a lead custom field by id, code or name, or tags.

Values are the latest synced ones (amoCRM keeps no history of them), which the About sheet says.
"""

from __future__ import annotations

from dataclasses import dataclass

from cohort_service.cohorts.catalog import Catalog, CustomField
from cohort_service.cohorts.suggest import did_you_mean
from cohort_service.config import ReportSettings
from cohort_service.errors import ConfigError
from cohort_service.schema.cohorts import cohort_header
from cohort_service.schema.leads import CONTRACT

TAGS = "tags"
_BUILTINS = (TAGS,)


@dataclass(frozen=True)
class DimensionSpec:
    name: str
    field: CustomField | None  # None for the built-in "tags"

    @property
    def kind(self) -> str:
        return TAGS if self.field is None else "field"

    def describe(self) -> str:
        if self.field is None:
            return "lead tags (comma-separated)"
        code = f", code {self.field.code}" if self.field.code else ""
        return f"custom field {self.field.name!r} (id {self.field.id}{code})"


def _field_listing(catalog: Catalog) -> str:
    if not catalog.custom_fields:
        return "no lead custom fields are synced yet (run `cohort-service sync` first)"
    labels = sorted(f"{f.name} ({f.code})" if f.code else f.name for f in catalog.custom_fields.values())
    return "fields that exist: " + ", ".join(labels[:40]) + (", …" if len(labels) > 40 else "")


def _find_field(catalog: Catalog, ref: str) -> list[CustomField]:
    fields = list(catalog.custom_fields.values())
    want = ref.strip().casefold()
    if want.isdigit() and int(want) in catalog.custom_fields:
        return [catalog.custom_fields[int(want)]]
    by_code = [f for f in fields if f.code and f.code.strip().casefold() == want]
    return by_code or [f for f in fields if f.name.strip().casefold() == want]


def resolve_dimensions(report: ReportSettings, catalog: Catalog, *, source: str) -> tuple[DimensionSpec, ...]:
    problems = _name_clashes(report, source)
    specs: list[DimensionSpec] = []
    for i, dim in enumerate(report.dimensions):
        where = f"{source}: report.dimensions[{i}].field"
        if dim.field.strip().casefold() in _BUILTINS:
            specs.append(DimensionSpec(dim.name, None))
            continue
        found = _find_field(catalog, dim.field)
        if not found:
            names = [n for f in catalog.custom_fields.values() for n in (f.name, f.code) if n]
            hint = did_you_mean(dim.field, names)
            problems.append(f"{where}: unknown custom field {dim.field!r}{hint}; {_field_listing(catalog)}")
        elif len(found) > 1:
            ids = ", ".join(str(f.id) for f in found)
            problems.append(
                f"{where}: field name {dim.field!r} is ambiguous (ids {ids}); name it by id or code"
            )
        else:
            specs.append(DimensionSpec(dim.name, found[0]))
    if problems:
        raise ConfigError(problems)
    return tuple(specs)


def _name_clashes(report: ReportSettings, source: str) -> list[str]:
    """Milestone and dimension names become column names. A Leads column they share (ignoring case)
    steps aside (``status (report)``, :func:`cohort_service.schema.leads.yielded_name`); only the
    contract's ``lead_id``/``cohort_week``/``created_at`` and the Cohorts table's own computed
    columns (same text) cannot."""
    milestones = [m.name for m in report.milestones]
    cohorts = set(cohort_header(milestones or ["final"], report.age_days)) - set(milestones)
    contract = {name.casefold() for name in CONTRACT}
    problems = []
    for key, names in (("milestones", milestones), ("dimensions", [d.name for d in report.dimensions])):
        for i, name in enumerate(names):
            if name in cohorts or name.casefold() in contract:
                problems.append(
                    f"{source}: report.{key}[{i}].name: {name!r} is already a report column; rename it"
                )
    return problems
