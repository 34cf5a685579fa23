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


def funnel_of(account: SimAccount, *, every_pipeline: bool = True) -> list[dict[str, Any]]:
    """Three milestones at the thirds of every pipeline's working stages, then won as the final one.

    A milestone is named as the main pipeline's stage and lists the stage at the same third of each
    pipeline (``Pipeline/Stage``): a pipeline whose stages a milestone does not list reaches it only
    through won (DESIGN §5), and its row of "Funnel by pipeline" would read 95 % → 98 %.
    ``every_pipeline=False`` lists the main pipeline's stages only (that case, on purpose).
    """
    main = next(p for p in account.pipelines if p.is_main)
    others = [p for p in account.pipelines if not p.is_main] if every_pipeline else []
    milestones: list[dict[str, Any]] = []
    for third in range(3):
        statuses = []
        for pipeline in (main, *others):
            stages = [s for s in pipeline.statuses if s.type == 0 and s.id not in (WON, LOST)]
            statuses.append(f"{pipeline.name}/{stages[_third(len(stages), third)].name}")
        main_stages = [s for s in main.statuses if s.type == 0 and s.id not in (WON, LOST)]
        milestones.append({"name": main_stages[_third(len(main_stages), third)].name, "statuses": statuses})
    return [*milestones, {"name": FINAL_MILESTONE, "statuses": [WON]}]


def _third(stages: int, third: int) -> int:
    """The stage at the start of third ``third`` (0, 1, 2) of ``stages`` working stages: distinct
    and in order for 3 or more stages (the generator makes 4 to 7)."""
    return round(third * (stages - 1) / 3)


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
