"""Where report files are written, so a failure never leaves a half-written or misdirected file.

* Every output (the workbook, each CSV) is written to ``<name>.<pid>-<token>.partial`` beside its
  target, created exclusively (a planted symlink is never followed), and renamed over the target
  only when complete; ``rename`` replaces a symlink at the target rather than writing through it.
  The pid in the name keeps two writers of one path apart.
* Temporary files holding personal data (the spooled stage history, spooled rows, xlsxwriter's
  own temp files) go in one private directory per process, ``<tmp>/cohort-service-<uid>/run-<pid>-…``
  (mode 0700), removed at exit.
* What a killed process left behind (its run directory, its ``.partial`` files) is removed by the
  next run: only entries whose pid no longer runs, so a concurrent writer's files are left alone.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cohort_service.errors import OutputError, first_line

_PARTIAL = re.compile(r"^(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]+\.partial(?:\.finalizing)?$")
_RUN = re.compile(r"^run-(?P<pid>\d+)-[0-9a-f]+$")
_run_dirs: dict[int, Path] = {}  # by pid: a forked child makes its own


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def partial_path(target: Path) -> Path:
    """A fresh temporary name beside ``target`` for this process."""
    return target.with_name(f"{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")


def sweep_partials(directory: Path, names: set[str] | None = None) -> None:
    """Remove ``.partial`` files in ``directory`` left by processes that no longer run."""
    with contextlib.suppress(OSError):
        for entry in directory.iterdir():
            match = _PARTIAL.match(entry.name)
            if match and (names is None or match["name"] in names) and not _alive(int(match["pid"])):
                with contextlib.suppress(OSError):
                    entry.unlink()


def private_tmpdir() -> Path:
    """This process's private directory for temp files with personal data (created once)."""
    known = _run_dirs.get(os.getpid())
    if known is not None and known.is_dir():
        return known
    base = Path(tempfile.gettempdir()) / f"cohort-service-{os.getuid()}"
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        if base.is_symlink() or base.stat().st_uid != os.getuid():
            raise OutputError(f"{base} is not this user's own directory: remove it or set TMPDIR")
        base.chmod(0o700)
        for entry in base.iterdir():
            match = _RUN.match(entry.name)
            if match and not _alive(int(match["pid"])):
                shutil.rmtree(entry, ignore_errors=True)
        run = base / f"run-{os.getpid()}-{secrets.token_hex(4)}"
        run.mkdir(mode=0o700)
    except OSError as exc:
        raise OutputError(f"temporary files: cannot use {base} ({first_line(exc)}); set TMPDIR") from None
    atexit.register(_remove_run_dir, os.getpid(), run)
    _run_dirs[os.getpid()] = run
    return run


def _remove_run_dir(owner: int, run: Path) -> None:
    if os.getpid() == owner:
        shutil.rmtree(run, ignore_errors=True)


def check_file_target(target: Path, what: str) -> None:
    """Fail early, in one line, when ``target`` cannot become a file we write (``what``: the file's role)."""
    if target.is_dir():
        raise OutputError(f"the {what} {target} is a directory: name a file")
    ensure_directory(target.parent, what)


def ensure_directory(directory: Path, what: str) -> None:
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"the {what} cannot go in {directory}: it is a file, not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"the {what} cannot go in {directory} ({first_line(exc)})") from None


@contextlib.contextmanager
def replacing(targets: list[Path], what: str) -> Iterator[list[Path]]:
    """Temporary paths for ``targets``; when the block succeeds each replaces its target, when it
    fails every temporary file is removed and the targets stay as they were."""
    temps = [partial_path(t) for t in targets]
    try:
        for temp in temps:  # exclusive creation: no symlink or existing file is followed
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        yield temps
        for temp, target in zip(temps, targets, strict=True):
            temp.replace(target)
    except OSError as exc:
        where = targets[0] if len(targets) == 1 else targets[0].parent
        raise OutputError(f"the {what} could not be written to {where} ({first_line(exc)})") from None
    finally:
        for temp in temps:
            with contextlib.suppress(OSError):
                temp.unlink()
