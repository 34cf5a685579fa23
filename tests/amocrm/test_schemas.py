"""Schemas: real and documented payloads parse into hand-checked values; malformed ones fail loudly."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from cohort_service.amocrm.client import AmoClient
from cohort_service.amocrm.queries import leads_list
from cohort_service.amocrm.schemas import (
    Account,
    DeletedLead,
    Event,
    FieldEnum,
    Lead,
    Status,
    StatusRef,
    Tag,
    User,
    parse_account,
    parse_custom_field,
    parse_deleted_lead,
    parse_event,
    parse_lead,
    parse_pipeline,
    parse_user,
)
from cohort_service.errors import AmoPayloadError
from tests.amocrm.conftest import Script, ok, read_page, sample


def test_documented_leads_list() -> None:
    raw = sample("doc_leads_list.json")["_embedded"]["leads"]
    leads = [parse_lead(item) for item in raw]
    assert leads[0] == Lead(
        id=19619,
        name="Сделка для примера",
        price=46333,
        responsible_user_id=123321,
        group_id=625,
        status_id=142,
        pipeline_id=1300,
        loss_reason_id=None,
        source_id=None,
        created_by=321123,
        updated_by=321123,
        created_at=datetime(2016, 1, 20, 8, 46, 47, tzinfo=UTC),
        updated_at=datetime(2017, 8, 8, 11, 58, 21, tzinfo=UTC),
        closed_at=datetime(2016, 12, 29, 10, 5, 31, tzinfo=UTC),
        closest_task_at=None,
        is_deleted=False,
        score=None,
        account_id=5135160,
        labor_cost=None,
        custom_fields_values=[],
        tags=(),
    )
    assert (leads[1].id, leads[1].price, leads[1].account_id) == (14460, 655, 1351360)


def test_lead_by_id_with_tags_and_loss_reason() -> None:
    lead = parse_lead(sample("doc_lead_by_id_fixed.json"))
    assert (lead.id, lead.status_id, lead.pipeline_id, lead.loss_reason_id) == (
        3912171,
        143,
        3104455,
        4203748,
    )
    assert lead.group_id == 0
    assert lead.closed_at == datetime(2020, 5, 28, 16, 28, 57, tzinfo=UTC)
    assert lead.tags == (Tag(id=100667, name="тест", color=None),)


def test_real_kommo_lead_custom_fields_kept_in_amocrm_shape() -> None:
    lead = parse_lead(sample("real_lead_kommo_with_custom_fields_unknown_repo.json"))
    assert (lead.id, lead.status_id, lead.created_by, lead.price) == (5765922, 143, 0, 0)
    assert lead.created_at == datetime(2024, 3, 4, 19, 16, 3, tzinfo=UTC)
    assert [cf["field_id"] for cf in lead.custom_fields_values] == [926914, 747418, 747666, 862832, 747664]
    assert lead.custom_fields_values[0] == {
        "field_id": 926914,
        "field_name": "WhatsApp Verificado",
        "field_code": None,
        "field_type": "text",
        "values": [{"value": "TRUE"}],
    }
    assert lead.custom_fields_values[4]["values"] == [
        {"value": "Diplomado en Creación Digital", "enum_id": 656296, "enum_code": None}
    ]
    assert lead.tags == (Tag(61124, "FBD", None),)


def test_real_leads_page_has_open_leads() -> None:
    raw = sample("real_leads_list_gormonn_amo-crm-test.json")["_embedded"]["leads"]
    leads = [parse_lead(item) for item in raw]
    assert [lead.id for lead in leads][:3] == [37948215, 38473079, 38473179]
    assert leads[0].name == "Разработка интернет-магазина"
    assert leads[0].closed_at is None
    assert leads[0].created_at == datetime(2023, 9, 15, 8, 8, 37, tzinfo=UTC)
    assert sum(lead.price for lead in leads) == 0 + 2000 + 2000000 + 900000 + 80000 + 1000 + 9000000


def test_pipelines_with_system_statuses() -> None:
    (pipeline,) = [parse_pipeline(p) for p in sample("doc_pipelines_list.json")["_embedded"]["pipelines"]]
    assert (pipeline.id, pipeline.name, pipeline.is_main, pipeline.is_archive) == (
        3177727,
        "Воронка",
        True,
        False,
    )
    assert [s.id for s in pipeline.statuses] == [32392156, 32392159, 32392165, 142, 143]
    assert pipeline.statuses[0] == Status(32392156, 3177727, "Неразобранное", 10, 1, "#c1c1c1", False)
    assert pipeline.statuses[3] == Status(142, 3177727, "Успешно реализовано", 10000, 0, "#CCFF66", False)
    real = parse_pipeline(sample("real_pipeline_AVolkodav_test-task.json"))
    assert real.id == 5959351
    assert {s.id: s.type for s in real.statuses}[51909133] == 1
    assert {142, 143} <= {s.id for s in real.statuses}


def test_custom_fields_and_enums() -> None:
    raw = sample("doc_leads_custom_fields_list.json")["_embedded"]["custom_fields"]
    fields = [parse_custom_field(item) for item in raw]
    assert [(f.id, f.name, f.type, f.sort, f.code, f.enums) for f in fields] == [
        (4439091, "Пример текстового поля", "text", 504, None, ()),
        (4440043, "Пример поля с типом 'data'", "date", 505, None, ()),
    ]
    select = parse_custom_field(
        {"id": 5, "name": "Продукт", "type": "select", "sort": 1, "code": "PRODUCT",
         "enums": [{"id": 11, "value": "CRM", "sort": 2}, {"id": 12, "value": "ERP", "sort": 1, "code": "E"}]}
    )  # fmt: skip
    assert select.enums == (FieldEnum(11, "CRM", 2, None), FieldEnum(12, "ERP", 1, "E"))


def test_users_rights_hold_admin_and_active() -> None:
    users = [parse_user(u) for u in sample("doc_users_list.json")["_embedded"]["users"]]
    assert users == [
        User(123123, "Пользователь для примера 2", "example2@mail.com", False, True, None),
        User(321321, "Пользователь для примера 2", "example2@mail.com", True, True, None),
    ]


def test_account_with_timezone() -> None:
    assert parse_account(sample("doc_account_fixed.json")) == Account(
        id=1231414,
        name="example",
        subdomain="example",
        timezone="Europe/Moscow",
        is_api_filter_enabled=True,
        is_loss_reason_enabled=True,
        is_unsorted_on=True,
        currency=None,
        current_user_id=581651,
    )


def test_kommo_account_has_currency_but_needs_datetime_settings() -> None:
    data = sample("kommo_doc_http_200_account.json")
    with pytest.raises(AmoPayloadError, match=r"^account 123123123: _embedded: missing$"):
        parse_account(data)
    data["_embedded"] = {"datetime_settings": {"timezone": "Europe/Amsterdam"}}
    account = parse_account(data)
    assert (account.currency, account.timezone, account.is_api_filter_enabled) == (
        "EUR",
        "Europe/Amsterdam",
        False,
    )


def test_events_list_and_status_changes() -> None:
    (added,) = [parse_event(e) for e in sample("doc_events_list_fixed.json")["_embedded"]["events"]]
    assert added == Event(
        id="01pz58t6p04ymgsgfbmfyfy1mf",
        type="lead_added",
        entity_id=26060763,
        entity_type="lead",
        created_by=939801,
        created_at=datetime(2029, 11, 9, 3, 21, 28, tzinfo=UTC),
    )
    real = parse_event(sample("real_event_lead_status_changed_probe_unknown_repo.json"))
    assert (real.id, real.entity_id, real.created_at) == (
        "01kysdbvsnt5n43xgp5hmp2k77",
        34079577,
        datetime(2026, 7, 30, 11, 43, 12, tzinfo=UTC),
    )
    assert real.before == StatusRef(pipeline_id=7670334, status_id=63384122)
    assert real.after == StatusRef(pipeline_id=7670334, status_id=143)
    documented = status_event(**sample("doc_event_values_lead_status_changed_fixed.json"))
    assert parse_event(documented).after == StatusRef(437642, 5233224)


def status_event(**values: Any) -> dict[str, Any]:
    event = sample("real_event_lead_status_changed_probe_unknown_repo.json")
    event.update(values)
    return event


def test_status_change_into_a_stage_from_nowhere_has_no_before() -> None:
    event = parse_event(status_event(value_before=[]))
    assert event.before is None
    assert event.after == StatusRef(7670334, 143)


def test_deleted_lead_reduced_model() -> None:
    assert parse_deleted_lead({"id": 7, "updated_at": 1700000000, "updated_by": 5, "is_deleted": True}) == (
        DeletedLead(7, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC), 5, True)
    )


def test_unknown_keys_are_ignored() -> None:
    data = sample("doc_leads_list.json")["_embedded"]["leads"][0] | {
        "price_with_minor_units": 463.33,
        "x": {},
    }
    assert parse_lead(data).id == 19619


def _lead(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(sample("doc_leads_list.json")["_embedded"]["leads"][0])
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return data


MALFORMED: list[tuple[str, Callable[[], object], str]] = [
    ("status-id-string", lambda: parse_lead(_lead(status_id="x")),
     'lead 19619: status_id: expected an integer, got "x"'),
    ("created-at-missing", lambda: parse_lead(_lead(created_at=...)), "lead 19619: created_at: missing"),
    ("created-at-iso-string", lambda: parse_lead(_lead(created_at="2016-01-20T08:46:47Z")),
     'lead 19619: created_at: expected a Unix timestamp (integer seconds), got "2016-01-20T08:46:47Z"'),
    ("id-missing", lambda: parse_lead(_lead(id=...), "leads page 2, item 5"),
     "lead (leads page 2, item 5): id: missing"),
    ("bool-is-not-an-id", lambda: parse_lead(_lead(pipeline_id=True)),
     "lead 19619: pipeline_id: expected an integer, got true"),
    ("custom-field-id", lambda: parse_lead(_lead(custom_fields_values=[{"field_id": "a", "values": []}])),
     'lead 19619: custom_fields_values[0].field_id: expected an integer, got "a"'),
    ("tags-not-a-list", lambda: parse_lead(_lead(_embedded={"tags": {"id": 1}})),
     'lead 19619: _embedded.tags: expected a list, got {"id": 1}'),
    ("status-change-value-after-empty", lambda: parse_event(status_event(value_after=[])),
     "event 01kysdbvsnt5n43xgp5hmp2k77: value_after: is empty; a lead_status_changed event must say where"),
    ("status-change-status-string", lambda: parse_event(
        status_event(value_after=[{"lead_status": {"id": "143", "pipeline_id": 7670334}}])),
     'event 01kysdbvsnt5n43xgp5hmp2k77: value_after[0].lead_status.id: expected an integer, got "143"'),
    ("event-id-not-a-string", lambda: parse_event(status_event(id=123), "events page 1, item 0"),
     "event (events page 1, item 0): id: expected a string, got 123"),
    ("user-without-rights", lambda: parse_user({"id": 5, "name": "A"}), "user 5: rights: missing"),
    ("status-sort-null", lambda: parse_pipeline(
        {"id": 9, "name": "P", "sort": 1, "_embedded": {"statuses": [{"id": 142, "name": "W", "sort": None,
                                                                      "type": 0}]}}),
     "pipeline 9 status 142: sort: expected an integer, got null"),
    ("not-an-object", lambda: parse_lead([1, 2], "leads page 1, item 0"),
     "lead (leads page 1, item 0): expected a JSON object, got [1, 2]"),
]  # fmt: skip


@pytest.mark.parametrize(("parse", "message"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_payloads_name_entity_id_and_field(parse: Callable[[], object], message: str) -> None:
    with pytest.raises(AmoPayloadError) as info:
        parse()
    assert str(info.value).startswith(message)


def test_a_bad_lead_in_a_page_stops_the_page(make_client: Callable[..., AmoClient]) -> None:
    page = sample("doc_leads_list.json")
    page["_embedded"]["leads"][1]["status_id"] = None
    client = make_client(Script(ok(page)))
    with pytest.raises(AmoPayloadError, match=r"^lead 14460: status_id: expected an integer, got null$"):
        read_page(client, leads_list(), 2)


def test_a_page_without_its_list_is_an_error(make_client: Callable[..., AmoClient]) -> None:
    client = make_client(Script(ok({"_page": 1, "_embedded": {"contacts": []}})))
    with pytest.raises(
        AmoPayloadError, match=r"^GET /api/v4/leads page 1: _embedded.leads: expected a list, got null$"
    ):
        read_page(client, leads_list())
