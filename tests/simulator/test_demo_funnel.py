"""The demo's (and the simulator's config's) milestones name a stage of every pipeline, in order."""

from __future__ import annotations

import pytest

from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.model import WON
from cohort_service.simulator.snippet import FINAL_MILESTONE, funnel_of


@pytest.mark.parametrize("seed", [1, 2, 3, 5, 21])
def test_each_milestone_lists_a_stage_of_every_pipeline_at_the_same_third(seed: int) -> None:
    account = generate_account(seed=seed, leads=50, weeks=4)
    funnel = funnel_of(account)
    assert [m["name"] for m in funnel][-1] == FINAL_MILESTONE
    assert funnel[-1]["statuses"] == [WON]
    main = next(p for p in account.pipelines if p.is_main)
    for pipeline in account.pipelines:
        working = [s for s in pipeline.statuses if s.type == 0 and s.id not in (WON, 143)]
        picked = []
        for milestone in funnel[:-1]:
            [ref] = [s for s in milestone["statuses"] if s.startswith(f"{pipeline.name}/")]
            picked.append(next(i for i, s in enumerate(working) if s.name == ref.split("/", 1)[1]))
        # the first working stage, then the stages at one and two thirds: distinct, in the pipeline's order
        n = len(working)
        assert picked == [0, round((n - 1) / 3), round(2 * (n - 1) / 3)]
        assert picked == sorted(set(picked))
    working = [s for s in main.statuses if s.type == 0 and s.id not in (WON, 143)]
    thirds = (0, round((len(working) - 1) / 3), round(2 * (len(working) - 1) / 3))
    assert [m["name"] for m in funnel[:-1]] == [working[i].name for i in thirds]  # named as the main's


def test_main_pipeline_only_on_request() -> None:
    account = generate_account(seed=1, leads=50, weeks=4)
    main = next(p for p in account.pipelines if p.is_main)
    for milestone in funnel_of(account, every_pipeline=False)[:-1]:
        assert [s.split("/", 1)[0] for s in milestone["statuses"]] == [main.name]
