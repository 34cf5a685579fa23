"""Terminal output: rich when a person watches, plain and quiet otherwise (CI, cron, --quiet)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def interactive(quiet: bool) -> bool:
    """Progress bars only for a person at a terminal; never in CI or when piped."""
    return not quiet and sys.stderr.isatty() and not os.environ.get("CI")


@dataclass
class UI:
    """What commands print through; tests read ``out`` via the CLI runner."""

    quiet: bool = False
    out: Console = field(default_factory=lambda: Console(highlight=False, soft_wrap=True))
    err: Console = field(default_factory=lambda: Console(stderr=True, highlight=False, soft_wrap=True))

    def info(self, message: str) -> None:
        if not self.quiet:
            self.out.print(message)

    def error(self, message: str) -> None:
        """The message is shown verbatim: text like ``[SMTP 554]`` is not rich markup."""
        self.err.print(f"[bold red]error:[/] {escape(message)}", markup=True)

    @contextmanager
    def progress(self) -> Iterator[ProgressSink]:
        if not interactive(self.quiet):
            yield ProgressSink(None)
            return
        bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.err,
            transient=False,
        )
        with bar:
            yield ProgressSink(bar)


class _Unknown:
    """The ``total`` of a bar whose end is not known (rich pulses it and shows no time left)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


class ProgressSink:
    """A progress handle that is a no-op when nobody watches, so stages never branch on it."""

    def __init__(self, bar: Progress | None) -> None:
        self._bar = bar
        self._tasks: dict[str, TaskID] = {}

    def task(self, key: str, description: str, total: float | None = None) -> None:
        if self._bar is not None and key not in self._tasks:
            self._tasks[key] = self._bar.add_task(description, total=total, extra="")

    def update(
        self,
        key: str,
        *,
        advance: float = 0,
        total: float | _Unknown | None = None,
        completed: float | None = None,
        extra: str | None = None,
    ) -> None:
        """``total=None`` leaves the total as it is; ``total=UNKNOWN`` makes it unknown again."""
        if self._bar is None or key not in self._tasks:
            return
        kwargs: dict[str, object] = {"advance": advance}
        if isinstance(total, _Unknown):
            for task in self._bar.tasks:  # rich's update() cannot unset a total
                if task.id == self._tasks[key]:
                    task.total = None
        elif total is not None:
            kwargs["total"] = total
        if completed is not None:
            kwargs["completed"] = completed
        if extra is not None:
            kwargs["extra"] = extra
        self._bar.update(self._tasks[key], **kwargs)  # type: ignore[arg-type]


NULL_PROGRESS = ProgressSink(None)
