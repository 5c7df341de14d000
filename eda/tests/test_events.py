"""record_to_event: what a ConsumerRecord becomes for the rule engine, for valid and for poison records."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from conftest import TOPIC, record

from unicop_kafka_lib.events import (
    INVALID_RECORD_TYPE,
    NOT_DECODABLE,
    NOT_JSON,
    RAW_PREVIEW_BYTES,
    TOMBSTONE,
    TOO_DEEPLY_NESTED,
    record_to_event,
)

RECONCILE_ID = "0b9a0f52-6f55-4a42-9a56-2d1b8f0c1e11"
VALID = b'{"type": "unicop.reconcile.command", "data": {"attempt": 2}}'


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def test_valid_record_body_is_the_parsed_value_and_meta_has_the_kafka_coordinates() -> None:
    event, error = record_to_event(record(7, VALID, headers=[("message_uuid", RECONCILE_ID.encode())]), "utf-8")

    assert error is None
    assert event["body"] == json.loads(VALID)
    assert event["meta"]["uuid"] == RECONCILE_ID
    assert event["meta"]["headers"] == {"message_uuid": RECONCILE_ID}
    assert event["meta"]["kafka"] == {
        "topic": TOPIC,
        "partition": 0,
        "offset": 7,
        "key": "dcim.device:1",
        "timestamp": 1_700_000_000_007,
        "timestamp_type": "create_time",
        "produced_at": "2023-11-14T22:13:20.007Z",
        "source_offset": f"{TOPIC}:0:7",
    }
    assert "message_id" not in event["meta"]


def test_meta_uuid_is_normalised_from_a_message_uuid_with_spaces_and_capitals() -> None:
    event, _ = record_to_event(
        record(0, VALID, headers=[("message_uuid", f" {RECONCILE_ID.upper()} ".encode())]), "utf-8"
    )
    assert event["meta"]["uuid"] == RECONCILE_ID


def test_meta_uuid_without_a_usable_message_uuid_is_a_uuid5_of_the_coordinates_stable_across_redeliveries() -> None:
    expected = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kafka:{TOPIC}:0:3"))

    without, _ = record_to_event(record(3, VALID), "utf-8")
    again, _ = record_to_event(record(3, VALID), "utf-8")
    not_a_uuid, _ = record_to_event(record(3, VALID, headers=[("message_uuid", b"cmd-17")]), "utf-8")

    assert without["meta"]["uuid"] == again["meta"]["uuid"] == not_a_uuid["meta"]["uuid"] == expected
    assert "message_id" not in without["meta"]
    assert not_a_uuid["meta"]["message_id"] == "cmd-17"  # kept, so it is not lost
    assert record_to_event(record(4, VALID), "utf-8")[0]["meta"]["uuid"] != expected


def test_undecodable_key_and_header_values_travel_as_base64_and_a_repeated_header_keeps_its_last_value() -> None:
    rec = record(0, VALID, key=b"\xff\x00", headers=[("h", b"one"), ("h", b"two"), ("bin", b"\xfe\xff")])

    event, error = record_to_event(rec, "utf-8")

    assert error is None
    assert event["meta"]["headers"] == {"h": "two"}
    assert event["meta"]["kafka"]["key"] is None
    assert base64.b64decode(event["meta"]["kafka"]["key_base64"]) == b"\xff\x00"
    assert base64.b64decode(event["meta"]["kafka"]["binary_headers"]["bin"]) == b"\xfe\xff"


def test_a_missing_key_and_no_headers_are_none_and_empty() -> None:
    event, _ = record_to_event(record(0, VALID, key=None), "utf-8")
    assert event["meta"]["kafka"]["key"] is None
    assert "key_base64" not in event["meta"]["kafka"]
    assert event["meta"]["headers"] == {}


@pytest.mark.parametrize(
    ("value", "code", "reason"),
    [
        (None, TOMBSTONE, "tombstone"),
        (b"\xff{}", NOT_DECODABLE, "not valid utf-8"),
        (b"not json {", NOT_JSON, "not JSON"),
        (nested(100_000), TOO_DEEPLY_NESTED, "too deeply"),
        (nested(101), TOO_DEEPLY_NESTED, "deeper than max_depth (100)"),
    ],
)
def test_poison_record_becomes_an_error_event_saying_why(value: bytes | None, code: str, reason: str) -> None:
    event, error = record_to_event(record(5, value), "utf-8", max_depth=100)

    assert error is not None
    assert reason in error
    assert event["body"]["type"] == INVALID_RECORD_TYPE
    assert event["body"]["code"] == code
    assert event["body"]["error"] == error
    assert event["body"]["source_offset"] == f"{TOPIC}:0:5"
    assert event["meta"]["kafka"]["offset"] == 5


def test_max_depth_counts_levels_of_arrays_and_objects_and_is_inclusive() -> None:
    assert record_to_event(record(0, nested(100)), "utf-8", max_depth=100)[1] is None
    assert record_to_event(record(0, b'{"a": {"b": [1]}}'), "utf-8", max_depth=3)[1] is None
    assert record_to_event(record(0, b'{"a": {"b": [[1]]}}'), "utf-8", max_depth=3)[1] is not None
    assert record_to_event(record(0, b'"a string is not nested"'), "utf-8", max_depth=1)[1] is None


def test_error_event_carries_a_raw_preview_of_at_most_4_kib() -> None:
    value = b"x" * (RAW_PREVIEW_BYTES + 10)

    body = record_to_event(record(0, value), "utf-8")[0]["body"]

    assert body["raw"] == "x" * RAW_PREVIEW_BYTES
    assert body["raw_base64"] is None
    assert body["truncated"] is True


def test_error_event_of_an_undecodable_value_carries_its_bytes_as_base64_only() -> None:
    body = record_to_event(record(0, b"\xff\xfe"), "utf-8")[0]["body"]

    assert body["raw"] is None
    assert base64.b64decode(body["raw_base64"]) == b"\xff\xfe"
    assert body["truncated"] is False


def test_error_event_of_a_tombstone_has_an_empty_preview() -> None:
    body = record_to_event(record(0, None), "utf-8")[0]["body"]
    assert (body["raw"], body["raw_base64"], body["truncated"]) == (None, None, False)


def test_the_encoding_argument_decodes_the_value() -> None:
    event, error = record_to_event(record(0, '{"name": "café"}'.encode("latin-1")), "latin-1")
    assert error is None
    assert event["body"] == {"name": "café"}
