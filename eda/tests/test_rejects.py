"""reject_notice: the CloudEvent a poison record leaves on the rejects topic, and its stable id."""

from __future__ import annotations

import base64
import hashlib
import re

from conftest import TOPIC, record

from unicop_kafka_lib.events import record_to_event
from unicop_kafka_lib.rejects import REJECT_EXCERPT_BYTES, REJECT_NOTICE_TYPE, reject_notice


def notice_for(
    value: bytes | None, *, offset: int = 4, group: str = "g-1", key: bytes | None = b"dcim.device:1"
) -> dict:
    rec = record(offset, value, key=key, headers=[("trace", b"t-1")])
    event, error = record_to_event(rec, "utf-8")
    assert error is not None
    return reject_notice(rec, event, group, invalid_count=3)


def test_notice_is_a_cloudevent_naming_the_group_the_coordinates_and_why() -> None:
    notice = notice_for(b"not json")

    assert notice["specversion"] == "1.0"
    assert notice["type"] == REJECT_NOTICE_TYPE == "unicop.source.rejected"
    assert notice["source"] == "urn:unicop:eda:g-1"
    assert notice["subject"] == f"{TOPIC}:0:4"
    assert notice["datacontenttype"] == "application/json"
    assert notice["dataschema"] == "https://unicop.dev/schemas/source-rejected.v1.schema.json"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", notice["time"])
    data = notice["data"]
    assert data["code"] == "not_json"
    assert data["reason"].startswith("record value is not JSON")
    assert data["kafka"] == {
        "topic": TOPIC,
        "partition": 0,
        "offset": 4,
        "key": "dcim.device:1",
        "key_base64": None,
        "timestamp": 1_700_000_000_004,
    }
    assert data["headers"] == {"trace": "t-1"}
    assert data["group_id"] == "g-1"
    assert data["invalid_count"] == 3
    assert data["value"] == {
        "bytes": 8,
        "sha256": hashlib.sha256(b"not json").hexdigest(),
        "truncated": False,
        "excerpt": "not json",
    }


def test_notice_id_is_the_same_for_the_same_group_and_record_and_differs_otherwise() -> None:
    first = notice_for(b"x")["id"]
    assert notice_for(b"x")["id"] == first  # re-sent after a crash: a recognisable duplicate
    assert notice_for(b"other bytes")["id"] == first  # the coordinates identify the record, not its bytes
    assert notice_for(b"x", offset=5)["id"] != first
    assert notice_for(b"x", group="g-2")["id"] != first


def test_undecodable_value_and_key_are_kept_as_base64() -> None:
    data = notice_for(b"\xff\xfe", key=b"\xff")["data"]

    assert "excerpt" not in data["value"]
    assert base64.b64decode(data["value"]["excerpt_base64"]) == b"\xff\xfe"
    assert data["kafka"]["key"] is None
    assert base64.b64decode(data["kafka"]["key_base64"]) == b"\xff"


def test_excerpt_is_cut_at_64_kib_and_says_so() -> None:
    value = b"y" * (REJECT_EXCERPT_BYTES + 1)

    data = notice_for(value)["data"]

    assert data["value"]["excerpt"] == "y" * REJECT_EXCERPT_BYTES
    assert data["value"]["truncated"] is True
    assert data["value"]["bytes"] == REJECT_EXCERPT_BYTES + 1
    assert data["value"]["sha256"] == hashlib.sha256(value).hexdigest()  # of the whole value, not the excerpt


def test_tombstone_notice_has_an_empty_value() -> None:
    data = notice_for(None)["data"]
    assert data["code"] == "tombstone"
    assert data["value"] == {"bytes": 0, "sha256": hashlib.sha256(b"").hexdigest(), "truncated": False, "excerpt": ""}
