"""Which workbook the Monday message carries, so the mail server never gets a message it refuses.

The limit (``email.max_attachment_mb``, decimal megabytes) is compared with the *message* as it
goes over the wire (:func:`~cohort_service.delivery.email.message_size`: base64 makes the file
4/3 larger, plus the bodies), not with the file. The first that fits:

1. the full workbook;
2. a lighter copy without the Transitions sheet (the stage history of every lead, about half the
   file on a big account); the Leads table, the pivot and every other sheet complete, so every
   number is the same;
3. the same, with the Leads table (and the pivot over it) cut to the weeks of the e-mail's table;
4. the same, cut to the last week of the e-mail's table;
5. no attachment.

Cohorts, Maturation, Managers and the other summary sheets always cover every week. The light
copy is one file (``…-light.xlsx``) rewritten at each step; the full workbook always stays in
``report.out_dir``. The body names it from step 2 on, and the reason goes to the run's record
(``report_runs.detail``) and the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from cohort_service.delivery.email import message_size
from cohort_service.delivery.headline import attachment_lines
from cohort_service.errors import CohortServiceError, first_line

log = logging.getLogger(__name__)

MB = 1_000_000  # mail providers state their limits in decimal megabytes; the smaller unit is safer
LIGHT_SUFFIX = "-light"
LEFT_OUT = "the Transitions sheet (the stage history of every lead)"

AttachmentKind = Literal["full", "light", "none"]
Compose = Callable[[Path | None, Sequence[str]], EmailMessage]
"""Build the message with this file attached (None: no file) and these closing lines about it."""
WriteLight = Callable[[Path, date | None], Path | None]
"""Write the lighter copy at the path, its Leads table from that cohort week on (None: every
week); None when that cut would keep every week (nothing lighter than the step before)."""


@dataclass(frozen=True)
class Attachment:
    """What one message carried, for the run's record (``report_runs``) and the log."""

    kind: AttachmentKind
    size: int  # bytes of the message as sent
    detail: str | None = None  # why the full workbook is not attached (None when it is)


@dataclass(frozen=True)
class Fitted:
    message: EmailMessage
    attachment: Attachment


def megabytes(size: int) -> str:
    """12.3 MB; under a megabyte in kB (a limit of 0.05 reads 50 kB, not 0.1 MB)."""
    return f"{size / MB:.1f} MB" if size >= MB else f"{size / 1000:.0f} kB"


def light_path(full: Path) -> Path:
    """``cohorts-week-of-….xlsx`` → ``cohorts-week-of-…-light.xlsx``, beside the full one."""
    return full.with_name(f"{full.stem}{LIGHT_SUFFIX}{full.suffix}")


def leads_cut(since: date | None) -> str:
    """What the light copy's Leads table holds, as the body and the file say it."""
    if since is None:
        return "the Leads table and the pivot are complete"
    return (
        f"the Leads table (and the pivot over it) holds only the cohort weeks from {since:%d.%m.%Y}; "
        "Cohorts and the other sheets cover every week"
    )


def light_note(full: Path, since: date | None = None) -> str:
    """The sentence the light workbook itself carries (Cohorts notes, About)."""
    return (
        f"This is the e-mail's lighter copy, to keep the message under the mail size limit: {LEFT_OUT} "
        f"is left out and {leads_cut(since)}. The full workbook: {full.name}."
    )


def fit_attachment(
    compose: Compose,
    full: Path,
    *,
    limit_bytes: int,
    write_light: WriteLight | None,
    cuts: Sequence[date] = (),
) -> Fitted:
    """The first of full / light / light cut at each of ``cuts`` / none whose message fits
    ``limit_bytes``. A light copy that cannot be written (a full disk) does not stop the Monday
    message: it goes without a file."""
    limit = f"the e-mail limit of {megabytes(limit_bytes)} (email.max_attachment_mb)"
    kept = f"The full workbook is kept on the report server: {full.resolve()}"
    message = compose(full, attachment_lines(full.name))
    size = message_size(message)
    if size <= limit_bytes:
        light_path(full).unlink(missing_ok=True)  # an earlier run's light copy of this week is stale
        return Fitted(message, Attachment("full", size))
    too_big = f"the full workbook {full.name} makes a {megabytes(size)} message, over {limit}"
    why_not = ""
    if write_light is not None:
        lighter, why_not = _lighter(
            compose,
            full,
            write_light=write_light,
            cuts=cuts,
            limit_bytes=limit_bytes,
            said=(limit, kept, size),
        )
        if lighter is not None:
            return lighter
    tail = f"; {why_not}" if why_not else ""
    about = (
        "No workbook is attached.",
        f"It makes a {megabytes(size)} message, over {limit}{tail}.",
        kept,
    )
    message = compose(None, about)
    return Fitted(message, Attachment("none", message_size(message), f"no attachment: {too_big}{tail}"))


def _lighter(
    compose: Compose,
    full: Path,
    *,
    write_light: WriteLight,
    cuts: Sequence[date],
    limit_bytes: int,
    said: tuple[str, str, int],
) -> tuple[Fitted | None, str]:
    """The first light copy (every week, then each cut) whose message fits, or why none does."""
    limit, kept, size = said
    tried: list[str] = []  # "every week 4.7 MB", "from 19.10.2026 2.1 MB"
    for since in (None, *cuts):
        try:
            light = write_light(light_path(full), since)
        except (OSError, CohortServiceError) as exc:
            log.warning("the light workbook could not be written: %s", first_line(exc))
            return None, f"the lighter copy could not be written ({first_line(exc)})"
        if light is None:
            continue  # this cut keeps every week: nothing lighter than the step before
        about = (  # the first line is the one the reader needs; the body shows it in bold
            f"A lighter copy of the workbook is attached: {light.name}.",
            f"It leaves out {LEFT_OUT}, and {leads_cut(since)}: the full workbook makes a "
            f"{megabytes(size)} message, over {limit}.",
            kept,
        )
        message = compose(light, about)
        light_size = message_size(message)
        if light_size <= limit_bytes:
            detail = (
                f"light workbook {light.name} attached ({leads_cut(since)}): the full workbook "
                f"{full.name} makes a {megabytes(size)} message, over {limit}"
            )
            return Fitted(message, Attachment("light", light_size, detail)), ""
        tried.append(f"{'every week' if since is None else f'from {since:%d.%m.%Y}'} {megabytes(light_size)}")
    return None, f"without the Transitions sheet still {', '.join(tried)}" if tried else ""


def without_attachment(compose: Compose, full: Path, refusal: str) -> Fitted:
    """The message again, with no file, after the server refused it for its size."""
    about = (
        "No workbook is attached.",
        f"The mail server refused the message with it ({refusal}).",
        f"The full workbook is kept on the report server: {full.resolve()}",
    )
    message = compose(None, about)
    detail = f"no attachment: the server refused the message with it ({refusal})"
    return Fitted(message, Attachment("none", message_size(message), detail))
