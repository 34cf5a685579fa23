"""Fields: what Postgres cannot store is cleaned (counted), what cannot mean anything is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort_service.amocrm.fields import Fields, storable
from cohort_service.amocrm.schemas import parse_custom_field
from cohort_service.errors import AmoPayloadError


@given(st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF)))
def test_storable_text_encodes_and_keeps_everything_else(text: str) -> None:
    cleaned, fixed = storable(text)
    cleaned.encode("utf-8")  # no lone surrogate left
    assert "\x00" not in cleaned
    bad = sum(1 for ch in text if ch == "\x00" or 0xD800 <= ord(ch) <= 0xDFFF)
    assert fixed == bad
    assert cleaned == "".join(
        "" if ch == "\x00" else "\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text
    )


def test_a_cleaned_name_is_noted_on_the_entity() -> None:
    f = Fields("lead", {"id": 7, "name": "a\x00b\ud800"})
    f.identify()
    assert f.text("name") == "ab\ufffd"
    assert f.repairs == ["lead 7: name: 2 NUL or invalid character(s) removed"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": 2**63}, "lead (item 0): id: 9223372036854775808 is beyond a 64-bit integer"),
        ({"id": -(2**63)}, None),
        ({"id": 1, "sort": 2**31}, "lead 1: sort: 2147483648 is beyond a 32-bit integer"),
        ({"id": 1, "price": float("inf")}, "lead 1: price: expected a finite number, got Infinity"),
        (
            {"id": 1, "price": 9_999_999_999_999_999.0},
            "lead 1: price: 1e+16 is beyond 10^16, the largest amount stored",
        ),
        ({"id": 1, "price": 9_999_999_999_999.99}, None),
        (
            {"id": 1, "at": 10**12 * 1000},
            "lead 1: at: 1000000000000000 is not a Unix timestamp of a real date",
        ),
    ],
)
def test_values_beyond_their_columns_are_refused(data: dict[str, object], message: str | None) -> None:
    def read() -> None:
        f = Fields("lead", data, position="item 0")
        f.identify()
        if "sort" in data:
            f.integer("sort", limit=2**31 - 1)
        if "price" in data:
            f.number("price")
        if "at" in data:
            f.timestamp("at")

    if message is None:
        read()
    else:
        with pytest.raises(AmoPayloadError) as err:
            read()
        assert str(err.value) == message


def test_an_enum_sort_beyond_32_bits_names_the_field_and_item() -> None:
    raw = {"id": 5, "name": "f", "type": "text", "sort": 1, "enums": [{"id": 9, "value": "v", "sort": 2**40}]}
    with pytest.raises(AmoPayloadError) as err:
        parse_custom_field(raw)
    assert str(err.value) == "custom field 5: enums[0].sort: 1099511627776 is beyond a 32-bit integer"
