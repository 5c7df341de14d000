"""Event shaping: a ConsumerRecord becomes ``{body, meta}`` for ansible-rulebook, or an error event.

``body`` is the record value parsed as JSON; ``meta.kafka`` has the key and coordinates, ``meta.headers`` the
headers, ``meta.uuid`` the ``message_uuid`` header (or a UUIDv5 of the coordinates, stable across redeliveries).
A record that cannot become an event (a *poison record*) becomes an error event instead, ``body.type ==
INVALID_RECORD_TYPE`` with ``body.code`` saying why; what happens to it next is consumer.py's business.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "INVALID_RECORD_TYPE",
    "NOT_DECODABLE",
    "NOT_JSON",
    "RAW_PREVIEW_BYTES",
    "TOMBSTONE",
    "TOO_DEEPLY_NESTED",
    "record_to_event",
]

INVALID_RECORD_TYPE = "unicop.source.invalid_record"
# what an error event carries for the rulebook's log line; the reject notice keeps more (rejects.py)
RAW_PREVIEW_BYTES = 4096

# Why a record could not become an event (body.code of the error event, data.code of the reject notice).
TOMBSTONE = "tombstone"
NOT_DECODABLE = "not_decodable"
NOT_JSON = "not_json"
TOO_DEEPLY_NESTED = "too_deeply_nested"


def _decode(raw: bytes | None, encoding: str) -> tuple[str | None, str | None]:
    """(text, None) when decodable, (None, base64) when not, (None, None) for a missing value."""
    if raw is None:
        return None, None
    try:
        return raw.decode(encoding), None
    except UnicodeError:  # UnicodeDecodeError, and what codecs such as idna raise instead
        return None, base64.b64encode(raw).decode("ascii")


def _iso(timestamp_ms: int | None) -> str | None:
    if timestamp_ms is None or timestamp_ms < 0:
        return None
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _valid_uuid(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        return None


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """True when arrays/objects nest more than `limit` levels. Iterative: a deep value cannot exhaust the stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _parse(text: str, max_depth: int) -> tuple[Any, str | None, str | None]:
    """(value, None, None), or (None, code, reason) for a value that cannot become an event body."""
    try:
        value = json.loads(text)
    except RecursionError:
        # json.loads recurses once per nesting level ([[[[...]]]] of some thousand levels)
        return None, TOO_DEEPLY_NESTED, "record value is nested too deeply to parse as JSON"
    except ValueError as exc:  # JSONDecodeError, and e.g. integers over Python's digit limit
        return None, NOT_JSON, f"record value is not JSON: {exc}"
    if _nested_deeper_than(value, max_depth):
        return None, TOO_DEEPLY_NESTED, f"record value nests deeper than max_depth ({max_depth})"
    return value, None, None


def _meta(record: Any, encoding: str) -> dict[str, Any]:
    """event.meta: headers, Kafka coordinates, uuid. Undecodable key/header values travel as base64."""
    key, key_base64 = _decode(record.key, encoding)
    headers: dict[str, str | None] = {}
    binary_headers: dict[str, str] = {}
    for name, raw in record.headers or ():
        text, b64 = _decode(raw, encoding)
        if b64 is not None:
            binary_headers[name] = b64
        else:
            headers[name] = text  # a repeated header name keeps its last value

    kafka: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": key,
        "timestamp": record.timestamp,
        "timestamp_type": "log_append_time" if record.timestamp_type == 1 else "create_time",
        "produced_at": _iso(record.timestamp),
        "source_offset": f"{record.topic}:{record.partition}:{record.offset}",
    }
    if key_base64 is not None:
        kafka["key_base64"] = key_base64
    if binary_headers:
        kafka["binary_headers"] = binary_headers

    meta: dict[str, Any] = {"headers": headers, "kafka": kafka}
    message_uuid = headers.get("message_uuid")
    event_uuid = _valid_uuid(message_uuid)
    if event_uuid is None:
        # stable across redeliveries, so labels and dedupe still work
        event_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kafka:{record.topic}:{record.partition}:{record.offset}"))
        if message_uuid:
            meta["message_id"] = message_uuid
    meta["uuid"] = event_uuid
    return meta


def record_to_event(record: Any, encoding: str, max_depth: int = 100) -> tuple[dict[str, Any], str | None]:
    """Turns a ConsumerRecord into (event, error). error is None when the value became the event's body;
    otherwise the event is an error event (body.type INVALID_RECORD_TYPE, body.code says why)."""
    meta = _meta(record, encoding)
    text, value_base64 = _decode(record.value, encoding)
    if record.value is None:
        code, error = TOMBSTONE, "record value is null (tombstone)"
    elif text is None:
        code, error = NOT_DECODABLE, f"record value is not valid {encoding}"
    else:
        value, code, error = _parse(text, max_depth)
        if error is None:
            return {"body": value, "meta": meta}, None

    raw_preview = (record.value or b"")[:RAW_PREVIEW_BYTES]
    body = {
        "type": INVALID_RECORD_TYPE,
        "code": code,
        "error": error,
        "source_offset": meta["kafka"]["source_offset"],
        "raw": raw_preview.decode(encoding, errors="replace") if text is not None else None,
        "raw_base64": base64.b64encode(raw_preview).decode("ascii") if value_base64 is not None else None,
        "truncated": len(record.value or b"") > RAW_PREVIEW_BYTES,
    }
    return {"body": body, "meta": meta}, error
