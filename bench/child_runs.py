"""Benchmarks that compare writers measure each in a fresh child process, so one variant's memory
peak (``ru_maxrss``) is not another's: the shared command line and the parent's side of it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator


def variant_parser(pandas_max: int) -> argparse.ArgumentParser:
    """``--rows N`` (repeatable), ``--pandas-max N`` (pandas is skipped above it, it is slow), and
    ``--child VARIANT``, the internal call that measures one variant."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, action="append")
    parser.add_argument("--pandas-max", type=int, default=pandas_max)
    parser.add_argument("--child")
    return parser


def counts_to_measure(pandas_max: int, child: Callable[[str, int], None]) -> Iterator[tuple[int, int]]:
    """Parse the command line. A ``--child VARIANT`` call (also one started by hand, without
    ``--rows``) runs ``child(variant, rows)`` and yields nothing; the parent gets each row count to
    measure (``--rows`` as given, else 100k and 1M) with ``--pandas-max``."""
    args = variant_parser(pandas_max).parse_args()
    counts = list(args.rows or (100_000, 1_000_000))
    if args.child:
        child(args.child, counts[0])
        return
    for count in counts:
        yield count, args.pandas_max


def measure(script: str, variant: str, count: int) -> dict[str, float]:
    """Run ``script --child VARIANT --rows COUNT``; its figures are the JSON lines it prints, merged."""
    out = subprocess.run(
        [sys.executable, script, "--child", variant, "--rows", str(count)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = {}
    for line in out.splitlines():
        if line.startswith("{"):
            result.update(json.loads(line))
    return result


def measured(
    script: str, variants: Iterable[str], count: int, pandas_max: int
) -> Iterator[tuple[str, dict[str, float]]]:
    """Each variant's figures at ``count`` rows, one child each, as they come (pandas only up to
    ``pandas_max`` rows: it is slow)."""
    for variant in variants:
        if variant != "pandas" or count <= pandas_max:
            yield variant, measure(script, variant, count)
