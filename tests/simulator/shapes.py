"""A structural diff: does a response carry every key path of a sample, with the same JSON type?

Arrays are compared by their first element; ``null`` in the sample matches anything (the real API
fills it in some accounts and not others); an empty array in the sample matches any array.
"""

from __future__ import annotations

from typing import Any


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def mismatches(sample: Any, actual: Any, path: str = "$", skip: tuple[str, ...] = ()) -> list[str]:
    """Key paths of ``sample`` that ``actual`` lacks or types differently (``skip``: path prefixes)."""
    if path in skip or sample is None:
        return []
    if _kind(sample) != _kind(actual):
        return [f"{path}: sample {_kind(sample)}, simulator {_kind(actual)}"]
    if isinstance(sample, dict):
        out: list[str] = []
        for key, value in sample.items():
            sub = f"{path}.{key}"
            if sub in skip:
                continue
            if key not in actual:
                out.append(f"{sub}: missing")
            else:
                out.extend(mismatches(value, actual[key], sub, skip))
        return out
    if isinstance(sample, list) and sample:
        if not actual:
            return [f"{path}: sample has items, simulator array is empty"]
        return mismatches(sample[0], actual[0], f"{path}[0]", skip)
    return []
