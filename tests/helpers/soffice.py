"""LibreOffice headless as a test oracle: it recomputes pivots from their source on load.

Each conversion gets its own user profile (one soffice instance per profile), runs in its own
process group, and is killed as a group if it outlives the timeout.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

# Filter options: comma, double quote, UTF-8, start row 1, no column formats, language default,
# quote all text=false, detect special numbers=true, save as shown=false, export formulas=false,
# remove space=false, every sheet (-1) to <stem>-<sheet>.csv.
CSV_ALL_SHEETS = "csv:Text - txt - csv (StarCalc):44,34,UTF8,1,,0,false,true,false,false,false,-1"

requires_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not on PATH"
)


class SofficeError(RuntimeError):
    pass


def convert(
    source: Path, out_dir: Path, target: str, *, timeout: float = 180, infilter: str | None = None
) -> str:
    """Run one ``soffice --convert-to`` (``infilter``: how to read the source, e.g. a CSV's
    separator and language); return its stdout. Raises on failure or timeout."""
    soffice = shutil.which("soffice")
    if soffice is None:
        raise SofficeError("soffice is not on PATH")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        command = [
            soffice,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            *([f"--infilter={infilter}"] if infilter else []),
            "--convert-to",
            target,
            "--outdir",
            str(out_dir),
            str(source),
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise SofficeError(
                f"soffice did not finish converting {source.name} in {timeout:.0f} s"
            ) from None
    if process.returncode != 0:
        raise SofficeError(f"soffice exited {process.returncode}: {stderr.strip()[-500:]}")
    return stdout


def to_csv_sheets(source: Path, out_dir: Path) -> dict[str, list[list[str]]]:
    """Every sheet of ``source`` as CSV rows, keyed by sheet name."""
    convert(source, out_dir, CSV_ALL_SHEETS)
    prefix = source.stem + "-"
    sheets: dict[str, list[list[str]]] = {}
    for path in sorted(out_dir.glob(f"{source.stem}-*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            sheets[path.stem[len(prefix) :]] = list(csv.reader(handle))
    if not sheets:
        raise SofficeError(f"soffice wrote no CSV for {source.name}")
    return sheets


def to_xlsx(source: Path, out_dir: Path) -> Path:
    """Re-save through LibreOffice: pivots come back materialised (cells and cache records)."""
    if out_dir.resolve() == source.parent.resolve():
        raise ValueError("convert into another directory, or the source is overwritten")
    convert(source, out_dir, "xlsx")
    result = out_dir / (source.stem + ".xlsx")
    if not result.exists():
        raise SofficeError(f"soffice wrote no xlsx for {source.name}")
    return result
