"""Ground truth agrees with what the API serves, and speaks our tables' column names."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import httpx
import numpy as np
import pandas as pd

from cohort_service.db import models
from cohort_service.simulator import truth
from cohort_service.simulator.model import SimAccount
from tests.simulator.conftest import all_pages


def test_leads_frame_matches_the_api(client: httpx.Client, shared_account: SimAccount) -> None:
    frame = truth.leads_frame(shared_account).set_index("id")
    pages = all_pages(client, "/api/v4/leads?limit=250")
    served = [lead for page in pages for lead in page["_embedded"]["leads"]]
    assert len(served) == int((~frame["is_deleted"]).sum())
    for lead in served:
        row = frame.loc[lead["id"]]
        assert (lead["name"], lead["pipeline_id"], lead["status_id"], lead["price"]) == (
            row["name"],
            row["pipeline_id"],
            row["status_id"],
            row["price"],
        )
        assert lead["responsible_user_id"] == row["responsible_user_id"]
        assert lead["created_at"] == int(row["created_at"].timestamp())
        assert lead["updated_at"] == int(row["updated_at"].timestamp())
        assert lead["closed_at"] == (None if pd.isna(row["closed_at"]) else int(row["closed_at"].timestamp()))
        assert lead["loss_reason_id"] == (
            None if pd.isna(row["loss_reason_id"]) else int(row["loss_reason_id"])
        )
        assert (lead["custom_fields_values"] or []) == row["custom_fields"]
        assert [t["name"] for t in lead["_embedded"]["tags"]] == row["tags"]


def test_status_changes_and_lead_events_match_the_api(
    client: httpx.Client, shared_account: SimAccount
) -> None:
    frame = truth.status_changes_frame(shared_account).set_index("event_id")
    pages = all_pages(client, "/api/v4/events?limit=100&filter[type]=lead_status_changed")
    served = [e for page in pages for e in page["_embedded"]["events"]]
    assert sorted(e["id"] for e in served) == sorted(frame.index)
    for event in served[:300]:
        row = frame.loc[event["id"]]
        before, after = event["value_before"][0]["lead_status"], event["value_after"][0]["lead_status"]
        assert (event["entity_id"], event["created_by"]) == (row["lead_id"], row["created_by"])
        assert row["created_at"] == datetime.fromtimestamp(event["created_at"], UTC)
        assert (before["pipeline_id"], before["id"]) == (row["before_pipeline_id"], row["before_status_id"])
        assert (after["pipeline_id"], after["id"]) == (row["after_pipeline_id"], row["after_status_id"])
    other = truth.lead_events_frame(shared_account)
    pages = all_pages(client, "/api/v4/events?limit=100&filter[type]=lead_added,lead_deleted,lead_restored")
    served = {e["id"]: e["type"] for page in pages for e in page["_embedded"]["events"]}
    assert served == dict(zip(other["event_id"], other["type"], strict=True))


def test_status_path_is_initial_status_then_changes(shared_account: SimAccount) -> None:
    frame = truth.status_changes_frame(shared_account)
    lead_id = int(frame["lead_id"].value_counts().index[0])
    path = truth.status_path(shared_account, lead_id)
    changes = frame[frame["lead_id"] == lead_id]
    assert len(path) == len(changes) + 1
    assert (path[0][1], path[0][2]) == (
        changes["before_pipeline_id"].iloc[0],
        changes["before_status_id"].iloc[0],
    )
    assert [p[1:] for p in path[1:]] == list(
        zip(changes["after_pipeline_id"].tolist(), changes["after_status_id"].tolist(), strict=True)
    )
    leads = truth.leads_frame(shared_account, custom_fields=False).set_index("id")
    assert path[-1][1:] == (leads.loc[lead_id, "pipeline_id"], leads.loc[lead_id, "status_id"])


def test_row_streams_equal_the_frames(shared_account: SimAccount) -> None:
    changes = truth.status_changes_frame(shared_account)
    rows = list(truth.status_change_rows(shared_account, batch=777))
    assert len(rows) == len(changes)
    assert rows[5] == tuple(
        v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in changes.iloc[5].tolist()
    )
    events = list(truth.lead_event_rows(shared_account, batch=100))
    assert [r[0] for r in events] == truth.lead_events_frame(shared_account)["event_id"].tolist()
    leads = list(truth.lead_rows(shared_account, batch=64))
    frame = truth.leads_frame(shared_account)
    assert [r[0] for r in leads] == frame["id"].tolist()
    deleted = next(r for r in leads if r[13])
    assert deleted[14] is not None
    open_lead = next(r for r in leads if r[11] is None)
    assert open_lead[12] is None
    assert all(isinstance(r[15], str) and isinstance(r[16], str) for r in itertools.islice(leads, 50))


def test_columns_match_our_tables(shared_account: SimAccount) -> None:
    def columns(table: object) -> set[str]:
        return {c.name for c in table.columns}  # type: ignore[attr-defined]

    assert set(truth.LEAD_COLUMNS) <= columns(models.leads)
    assert set(truth.STATUS_CHANGE_COLUMNS) <= columns(models.lead_status_changes)
    assert set(truth.LEAD_EVENT_COLUMNS) <= columns(models.lead_events)
    pairs = [
        (truth.pipelines_frame, models.pipelines),
        (truth.statuses_frame, models.statuses),
        (truth.users_frame, models.users),
        (truth.custom_fields_frame, models.custom_fields),
        (truth.custom_field_enums_frame, models.custom_field_enums),
        (truth.loss_reasons_frame, models.loss_reasons),
    ]
    for build, table in pairs:
        assert set(build(shared_account).columns) <= columns(table), table
    assert set(truth.account_row(shared_account)) <= columns(models.account)
    statuses = truth.statuses_frame(shared_account)
    assert (statuses["status_id"] == 142).sum() == len(shared_account.pipelines)
    frame = truth.leads_frame(shared_account, custom_fields=False)
    assert str(frame["created_at"].dt.tz) == "UTC"
    assert frame["is_deleted"].sum() == int(np.sum(shared_account.leads.is_deleted))
