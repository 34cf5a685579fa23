"""Hostile values planted into the simulator's replies, as raw JSON text a broken server could send.

``app.plant("leads", 1042, "price", "Infinity")`` makes every reply listing lead 1042 carry
``"price":Infinity``; the text goes into the body verbatim, so values Python's own encoder would
never write (``1e400``, ``99999999999999999999``, a lone ``"\\ud800"``) reach the client exactly as a
misbehaving proxy or API would send them. ``field`` is a dotted path: ``name``,
``custom_fields_values.0.values.0.value``, ``_embedded.statuses.1.sort``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Plant:
    collection: str  # the ``_embedded`` key the entity is listed under: leads, events, pipelines, users
    entity_id: int | str
    field: str
    raw_json: str


def _placeholder(index: int) -> str:
    return f"__planted_value_{index}__"


def _set(obj: dict[str, Any], path: str, value: str) -> bool:
    *parents, last = path.split(".")
    node: Any = obj
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.get(part)
        if node is None:
            return False
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return True


def apply(body: bytes, plants: list[Plant]) -> bytes:
    """The reply body with each planted field of a listed entity replaced by its raw JSON text."""
    if not plants or not body.startswith(b"{"):
        return body
    data = json.loads(body)
    embedded = data.get("_embedded") if isinstance(data, dict) else None
    if not isinstance(embedded, dict):
        return body
    used: list[int] = []
    for index, plant in enumerate(plants):
        for item in embedded.get(plant.collection) or []:
            found = isinstance(item, dict) and item.get("id") == plant.entity_id
            if found and _set(item, plant.field, _placeholder(index)):
                used.append(index)
    if not used:
        return body
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for index in used:
        text = text.replace(json.dumps(_placeholder(index)), plants[index].raw_json)
    return text.encode("utf-8", "surrogatepass")
