"""A ready ``config.toml`` for a simulated account, built from the account's own names.

A newcomer runs ``simulator`` then ``sync`` then ``send``: the milestone statuses must exist in the
account the simulator generated (its pipelines pick a random subset of stage names per seed), or
the report fails after minutes of pulling. The demo takes its funnel from here too.
"""

from __future__ import annotations

import json
from typing import Any

from cohort_service.simulator.model import LOST, WON, SimAccount

FINAL_MILESTONE = "Продажа"
DIMENSIONS = (("source", "UTM_SOURCE"), ("product", "Продукт"))


def funnel_of(account: SimAccount) -> list[dict[str, Any]]:
    """Three milestones spread over the main pipeline's stages, then won as the final one."""
    main = next(p for p in account.pipelines if p.is_main)
    stages = [s for s in main.statuses if s.type == 0 and s.id not in (WON, LOST)]
    picks = sorted({round(i * (len(stages) - 1) / 3) for i in range(3)})
    milestones = [{"name": stages[i].name, "statuses": [f"{main.name}/{stages[i].name}"]} for i in picks]
    return [*milestones, {"name": FINAL_MILESTONE, "statuses": [WON]}]


def config_snippet(account: SimAccount, *, base_url: str, auth: dict[str, str]) -> str:
    """``[amocrm]`` (``auth``: ``token``, or the ``oauth`` keys), ``[report]`` with the account's
    time zone, its funnel and two dimensions its custom fields have."""
    lines = ["[amocrm]", f"base_url = {_q(base_url)}", "requests_per_second = 7"]
    if "token" in auth:
        lines.append(f"token = {_q(auth['token'])}")
    else:
        lines += ["", "[amocrm.oauth]"]
        lines += [f"{key} = {_q(auth[key])}" for key in ("client_id", "client_secret", "redirect_uri")]
    lines += ["", "[report]", f"timezone = {_q(account.timezone)}", "weeks = 12"]
    for milestone in funnel_of(account):
        statuses = ", ".join(_q(s) if isinstance(s, str) else str(s) for s in milestone["statuses"])
        lines += ["", "[[report.milestones]]", f"name = {_q(milestone['name'])}", f"statuses = [{statuses}]"]
    for name, field in DIMENSIONS:
        lines += ["", "[[report.dimensions]]", f"name = {_q(name)}", f"field = {_q(field)}"]
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    """A TOML basic string (JSON's escaping is valid TOML for these)."""
    return json.dumps(text, ensure_ascii=False)
