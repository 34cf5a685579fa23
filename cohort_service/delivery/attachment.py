"""Which workbook the Monday message carries, so the mail server never gets a message it refuses.

The limit (``email.max_attachment_mb``, decimal megabytes) is compared with the *message* as it
goes over the wire (:func:`~cohort_service.delivery.email.message_size`: base64 makes the file
4/3 larger, plus the bodies), not with the file. In order:

1. the full workbook, when the message fits;
2. a lighter workbook without the Transitions sheet (the stage history of every lead, most of the
   file's bytes on a big account: at 20k leads 49 MB of its XML), when that message fits; the
   Leads table, the pivot and every other sheet stay, so the numbers are the same;
3. no attachment: the body says why and where the files are.

The full workbook always stays in ``report.out_dir``; the body names it in cases 2 and 3, and the
reason goes to the run's record (``report_runs.detail``) and the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


def light_note(full: Path) -> str:
    """The sentence the light workbook itself carries (Cohorts notes, About)."""
    return (
        f"This is the e-mail's lighter copy: {LEFT_OUT} is left out to keep the message under the "
        f"mail size limit; every other sheet is complete. The full workbook: {full.name}."
    )


def fit_attachment(
    compose: Compose,
    full: Path,
    *,
    limit_bytes: int,
    write_light: Callable[[Path], Path] | None,
) -> Fitted:
    """The first of full / light / none whose message fits ``limit_bytes``. A light copy that
    cannot be written (a full disk) does not stop the Monday message: it goes without a file."""
    limit = f"the e-mail limit of {megabytes(limit_bytes)} (email.max_attachment_mb)"
    kept = f"The full workbook is kept on the report server: {full.resolve()}"
    message = compose(full, attachment_lines(full.name))
    size = message_size(message)
    if size <= limit_bytes:
        light_path(full).unlink(missing_ok=True)  # an earlier run's light copy of this week is stale
        return Fitted(message, Attachment("full", size))
    too_big = f"the full workbook {full.name} makes a {megabytes(size)} message, over {limit}"
    light, why_not = _light_copy(write_light, full)
    if light is not None:
        about = (
            f"A lighter copy of the workbook is attached: {light.name}. It leaves out {LEFT_OUT}: "
            f"the full workbook makes a {megabytes(size)} message, over {limit}. Every other sheet, "
            "the Leads table and the pivot are complete.",
            kept,
        )
        message = compose(light, about)
        light_size = message_size(message)
        if light_size <= limit_bytes:
            return Fitted(
                message, Attachment("light", light_size, f"light workbook {light.name} attached: {too_big}")
            )
        why_not = f"without the Transitions sheet still {megabytes(light_size)}"
    tail = f"; {why_not}" if why_not else ""
    about = (f"No workbook is attached: it makes a {megabytes(size)} message, over {limit}{tail}.", kept)
    message = compose(None, about)
    return Fitted(message, Attachment("none", message_size(message), f"no attachment: {too_big}{tail}"))


def _light_copy(write_light: Callable[[Path], Path] | None, full: Path) -> tuple[Path | None, str]:
    """The light workbook beside the full one, or why there is none."""
    if write_light is None:
        return None, ""
    try:
        return write_light(light_path(full)), ""
    except (OSError, CohortServiceError) as exc:
        log.warning("the light workbook could not be written: %s", first_line(exc))
        return None, f"the lighter copy could not be written ({first_line(exc)})"


def without_attachment(compose: Compose, full: Path, refusal: str) -> Fitted:
    """The message again, with no file, after the server refused it for its size."""
    about = (
        f"No workbook is attached: the mail server refused the message with it ({refusal}).",
        f"The full workbook is kept on the report server: {full.resolve()}",
    )
    message = compose(None, about)
    detail = f"no attachment: the server refused the message with it ({refusal})"
    return Fitted(message, Attachment("none", message_size(message), detail))
