"""unicop_kafka: an ansible-rulebook event source that reads Kafka with aiokafka and commits late.

Why not the stock ``ansible.eda.kafka`` (see eda/README.md and ../shared/reference/eda-awx.md §2):
it has no consumer group by default, auto-commits every 5 s whatever was *consumed* (not what the rule
engine took), never exposes the message key, and needs Galaxy, which UNICOP's machines cannot reach.

Delivery contract of this source (at-least-once into the rule engine):
* ``group_id`` is required and auto-commit is off. Each record is committed on its own
  (``{TopicPartition: offset + 1}``) only after the rule engine took it:
  - with ``feedback: true`` in the rulebook (ansible-rulebook >= 1.3 started with ``--persistence-id``),
    the engine hands every event back on ``args["eda_feedback_queue"]`` right after ``lang.post()``;
    the record is committed when that feedback arrives;
  - without it, the record is committed right after ``await queue.put(event)`` returned (the engine's
    source queue holds one event, so it is then at most one event away from the engine).
* A crash before the commit redelivers the record after the restart (same ``meta.uuid``, so AWX's
  ``eda-event-uuid-<uuid>`` label and the receiver's dedupe still correlate); a committed record is never
  delivered again to the same group.
* Neither mode waits for the action (the AWX job): a crash after the commit but before the launch loses
  the launch. The reconciler's deadline turns that into an explicit ``timed_out`` outcome.

Records that cannot become an event (*poison records*: a tombstone, a value that is not valid in
``encoding``, not JSON, or nested deeper than ``max_depth``, which also covers values so deep that
``json.loads`` itself raises ``RecursionError``) are handled explicitly, never by crashing: each one is counted
(per source, since start), logged with its topic/partition/offset, published as a reject notice
(``unicop.source.rejected``) to ``rejects_topic`` when that is set, and then either delivered as an *error
event* (``body.type == "unicop.source.invalid_record"``, with the error, the Kafka coordinates and up to 4 KiB
of the raw value; ``on_invalid: event``, the default) or skipped (``on_invalid: skip``), and committed like
any other record. Reason: such a record can never become valid by retrying, so holding it would block its
partition forever (before this, a ``RecursionError`` killed the source before the commit and ansible-rulebook
crash-looped on the same record), while skipping it with only a log line would lose it silently. The reject
notice is on Kafka before the record is committed: if publishing it fails, the source retries with backoff
(each failure logged) and commits nothing meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.helpers import create_ssl_context

DOCUMENTATION = r"""
---
short_description: Receive events from Kafka topics, committing each record after the rule engine took it.
description:
  - An ansible-rulebook event source plugin (aiokafka) for UNICOP's Kafka topics.
  - Requires a consumer group; auto-commit is off. Each record is committed individually once the rule
    engine accepted it (feedback queue when C(feedback) is true, else right after the event was queued).
  - C(event.body) is the record value parsed as JSON. C(event.meta.kafka) has the key, topic, partition,
    offset and timestamp; C(event.meta.headers) the headers; C(event.meta.uuid) the C(message_uuid) header
    (or a UUIDv5 of topic:partition:offset when that header is missing or not a UUID).
  - Records that cannot become an event (tombstone, not valid in C(encoding), not JSON, nested deeper than
    C(max_depth)) are counted, logged with topic/partition/offset, published as a C(unicop.source.rejected)
    notice to C(rejects_topic) when set (before the commit; retried with backoff, never committed past while
    it fails), then become events with C(body.type == "unicop.source.invalid_record") (C(on_invalid: event),
    the default) or are skipped (C(on_invalid: skip)); both are committed.
  - Optional finite mode for tests (C(max_messages), C(idle_timeout)); when the source returns,
    ansible-rulebook shuts down.
options:
  bootstrap_servers:
    description: Comma-separated list (or YAML list) of host:port. C(host) + C(port) is accepted too.
    type: str
    default: 127.0.0.1:9092
  topic:
    description: One topic to subscribe to. Exactly one of C(topic), C(topics) is required.
    type: str
  topics:
    description: Several topics (list or comma-separated string).
    type: list
    elements: str
  group_id:
    description: Kafka consumer group. Required; commits are stored for this group.
    type: str
    required: true
  offset:
    description: Where a group without committed offsets starts.
    type: str
    choices: [earliest, latest]
    default: earliest
  client_id:
    description: Kafka client id.
    type: str
    default: unicop-eda
  encoding:
    description: Encoding of keys, header values and record values.
    type: str
    default: utf-8
  feedback:
    description:
      - Read by ansible-rulebook itself (not by this plugin). When true, ansible-rulebook (>= 1.3.0, started
        with C(--persistence-id)) passes C(eda_feedback_queue) and this plugin commits a record only after the
        engine acknowledged its event.
    type: bool
    default: false
  feedback_timeout:
    description: Seconds to wait for the engine's acknowledgement; on timeout the source fails (the record
      stays uncommitted and is redelivered after a restart). 0 waits forever.
    type: float
    default: 3600
  on_invalid:
    description: What to do with a record that cannot become an event (tombstone, not decodable, not JSON,
      too deeply nested), after it was counted, logged and published to C(rejects_topic).
    type: str
    choices: [event, skip]
    default: event
  rejects_topic:
    description:
      - Topic for a reject notice per record that cannot become an event (UNICOP's rulebook sets
        C(<prefix>.rejected.v1)). CloudEvents JSON, C(type: unicop.source.rejected), key = C(source),
        header C(message_uuid) = notice id (a UUIDv5 of group, topic, partition and offset, so a notice
        re-sent after a crash has the same id); C(data) has C(code), C(reason), C(kafka) (topic, partition,
        offset, key, timestamp), C(headers), C(value) (bytes, sha256, C(excerpt) text or C(excerpt_base64),
        at most 64 KiB, C(truncated)), C(group_id) and C(invalid_count).
      - Published with acks=all before the record is committed; a failed publish is retried with backoff
        (logged) and the record stays uncommitted meanwhile. The topic must exist (the receiver creates it).
      - Unset (the default) publishes nothing; invalid records are still counted, logged and committed.
    type: str
  max_depth:
    description: Records whose JSON value nests arrays/objects deeper than this are invalid (code
      C(too_deeply_nested)). The rule engine copies every event recursively again, so a value that Python
      can parse may still break it; UNICOP's commands nest fewer than 10 levels.
    type: int
    default: 100
  max_messages:
    description: Finite mode. Return after this many records were delivered and committed.
    type: int
  idle_timeout:
    description: Finite mode. Return when no record arrived for this many seconds.
    type: float
  final_delay:
    description: Finite mode. Seconds to wait before returning, so the last event's action is queued before
      ansible-rulebook broadcasts its shutdown.
    type: float
    default: 1
  max_poll_interval_ms:
    description: aiokafka C(max_poll_interval_ms). Waiting longer than this for the engine (back pressure) makes
      the consumer leave its group; the record is then redelivered (a duplicate, never a loss).
    type: int
    default: 300000
  session_timeout_ms:
    description: aiokafka C(session_timeout_ms).
    type: int
    default: 10000
  security_protocol:
    description: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
    type: str
    default: PLAINTEXT
  sasl_mechanism:
    description: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
    type: str
    default: PLAIN
  sasl_plain_username:
    type: str
  sasl_plain_password:
    type: str
  cafile:
    description: CA bundle for SSL.
    type: str
  certfile:
    description: Client certificate for SSL.
    type: str
  keyfile:
    description: Client key for SSL.
    type: str
  password:
    description: Password of C(keyfile).
    type: str
  check_hostname:
    description: Verify the broker's host name (SSL).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: unicop reconcile commands
  hosts: all
  execution_strategy: parallel
  sources:
    - name: reconcile_requests
      unicop_kafka:
        bootstrap_servers: "{{ kafka_brokers }}"
        topic: "{{ topic_prefix }}.reconcile.requests.v1"
        group_id: unicop-eda
        offset: earliest
        feedback: true
        rejects_topic: "{{ topic_prefix }}.rejected.v1"
  rules:
    - name: print
      condition: event.meta.kafka.key is defined
      action:
        debug:
          msg: "{{ event.meta.kafka.topic }}:{{ event.meta.kafka.partition }}:{{ event.meta.kafka.offset }}"

# run: ansible-rulebook -r rulebook.yml -S eda/sources --persistence-id unicop-eda --vars vars.yml
# finite (tests): add max_messages: 3 and/or idle_timeout: 10 to the source arguments.
"""

__all__ = [
    "DOCUMENTATION",
    "EXAMPLES",
    "INVALID_RECORD_TYPE",
    "REJECT_EXCERPT_BYTES",
    "REJECT_NOTICE_TYPE",
    "ConfigError",
    "main",
    "parse_args",
    "record_to_event",
    "reject_notice",
]

logger = logging.getLogger("unicop_kafka")

INVALID_RECORD_TYPE = "unicop.source.invalid_record"
REJECT_NOTICE_TYPE = "unicop.source.rejected"
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
# what an error event carries for the rulebook's log line; the reject notice keeps more, like the receiver's
# unicop.webhook.rejected notices (64 KiB), still far below Kafka's default 1 MB message limit once base64'd
RAW_PREVIEW_BYTES = 4096
REJECT_EXCERPT_BYTES = 64 * 1024
# a failed reject publish is retried forever (the record must not be committed without its notice):
# 0.5 s doubling up to 30 s, so an outage of the rejects topic costs a log line every 30 s, not a busy loop
REJECT_BACKOFF_INITIAL_S = 0.5
REJECT_BACKOFF_MAX_S = 30.0

# Why a record could not become an event (body.code of the error event, data.code of the reject notice).
TOMBSTONE = "tombstone"
NOT_DECODABLE = "not_decodable"
NOT_JSON = "not_json"
TOO_DEEPLY_NESTED = "too_deeply_nested"


class ConfigError(ValueError):
    """Bad source arguments; the message names the argument."""


def _as_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [str(v).strip() for v in value]
    else:
        raise ConfigError(f"unicop_kafka: '{name}' must be a string or a list, got {type(value).__name__}")
    return [v for v in items if v]


def _number(args: dict[str, Any], name: str, default: float | None, *, integer: bool = False) -> Any:
    value = args.get(name, default)
    if value is None or value == "":
        return default
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"unicop_kafka: '{name}' must be a number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"unicop_kafka: '{name}' must not be negative, got {value!r}")
    return number


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "yes", "1", "false", "no", "0"}:
        return value.lower() in {"true", "yes", "1"}
    raise ConfigError(f"unicop_kafka: '{name}' must be a boolean, got {value!r}")


def parse_args(args: dict[str, Any]) -> dict[str, Any]:
    """Validates the rulebook arguments; raises ConfigError with a message naming the argument."""
    group_id = args.get("group_id")
    if not isinstance(group_id, str) or not group_id.strip():
        raise ConfigError(
            "unicop_kafka: 'group_id' is required (without a consumer group nothing is committed and every "
            "restart would start over)"
        )

    if args.get("host") and not args.get("bootstrap_servers"):
        servers = [f"{args['host']}:{args.get('port', 9092)}"]
    else:
        servers = _as_list(args.get("bootstrap_servers", "127.0.0.1:9092"), "bootstrap_servers")
    if not servers:
        raise ConfigError("unicop_kafka: 'bootstrap_servers' is empty")

    if args.get("topic") and args.get("topics"):
        raise ConfigError("unicop_kafka: give either 'topic' or 'topics', not both")
    topics = _as_list(args.get("topic") or args.get("topics"), "topics")
    if not topics:
        raise ConfigError("unicop_kafka: 'topic' or 'topics' is required")

    offset = str(args.get("offset", "earliest")).lower()
    if offset not in {"earliest", "latest"}:
        raise ConfigError(f"unicop_kafka: 'offset' must be earliest or latest, got {args.get('offset')!r}")

    on_invalid = str(args.get("on_invalid", "event")).lower()
    if on_invalid not in {"event", "skip"}:
        raise ConfigError(f"unicop_kafka: 'on_invalid' must be event or skip, got {args.get('on_invalid')!r}")

    encoding = str(args.get("encoding", "utf-8"))
    try:
        "".encode(encoding)
    except LookupError:
        raise ConfigError(f"unicop_kafka: unknown 'encoding' {encoding!r}") from None

    rejects_topic = str(args.get("rejects_topic") or "").strip() or None
    max_depth = _number(args, "max_depth", 100, integer=True)
    if max_depth < 1:
        raise ConfigError(f"unicop_kafka: 'max_depth' must be at least 1, got {args.get('max_depth')!r}")

    max_messages = _number(args, "max_messages", None, integer=True)
    if max_messages == 0:
        max_messages = None
    idle_timeout = _number(args, "idle_timeout", None)
    if idle_timeout == 0:
        idle_timeout = None

    return {
        "bootstrap_servers": servers,
        "topics": topics,
        "group_id": group_id.strip(),
        "offset": offset,
        "client_id": str(args.get("client_id", "unicop-eda")),
        "encoding": encoding,
        "on_invalid": on_invalid,
        "rejects_topic": rejects_topic,
        "max_depth": max_depth,
        "feedback_timeout": _number(args, "feedback_timeout", 3600.0),
        "max_messages": max_messages,
        "idle_timeout": idle_timeout,
        "final_delay": _number(args, "final_delay", 1.0),
        "max_poll_interval_ms": _number(args, "max_poll_interval_ms", 300000, integer=True),
        "session_timeout_ms": _number(args, "session_timeout_ms", 10000, integer=True),
        "security_protocol": str(args.get("security_protocol", "PLAINTEXT")).upper(),
        "sasl_mechanism": str(args.get("sasl_mechanism", "PLAIN")).upper(),
        "sasl_plain_username": args.get("sasl_plain_username"),
        "sasl_plain_password": args.get("sasl_plain_password"),
        "cafile": args.get("cafile"),
        "certfile": args.get("certfile"),
        "keyfile": args.get("keyfile"),
        "password": args.get("password"),
        "check_hostname": _bool(args.get("check_hostname", True), "check_hostname"),
    }


def _security(cfg: dict[str, Any]) -> dict[str, Any]:
    """Connection settings shared by the consumer and the rejects producer."""
    security_protocol = cfg["security_protocol"]
    ssl_context = None
    if security_protocol.endswith("SSL") or cfg["cafile"] or cfg["certfile"] or cfg["keyfile"]:
        ssl_context = create_ssl_context(
            cafile=cfg["cafile"], certfile=cfg["certfile"], keyfile=cfg["keyfile"], password=cfg["password"]
        )
        ssl_context.check_hostname = cfg["check_hostname"]
        if security_protocol == "PLAINTEXT":
            security_protocol = "SSL"
        elif security_protocol == "SASL_PLAINTEXT":
            security_protocol = "SASL_SSL"
    return {
        "bootstrap_servers": cfg["bootstrap_servers"],
        "security_protocol": security_protocol,
        "ssl_context": ssl_context,
        "sasl_mechanism": cfg["sasl_mechanism"],
        "sasl_plain_username": cfg["sasl_plain_username"],
        "sasl_plain_password": cfg["sasl_plain_password"],
    }


def _consumer(cfg: dict[str, Any]) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *cfg["topics"],
        client_id=cfg["client_id"],
        group_id=cfg["group_id"],
        enable_auto_commit=False,
        auto_offset_reset=cfg["offset"],
        max_poll_records=1,
        max_poll_interval_ms=cfg["max_poll_interval_ms"],
        session_timeout_ms=cfg["session_timeout_ms"],
        isolation_level="read_committed",
        **_security(cfg),
    )


def _producer(cfg: dict[str, Any]) -> AIOKafkaProducer:
    # acks=all + idempotence: a notice counts as published only once every in-sync replica has it, because
    # the record is committed (gone for this group) right after.
    return AIOKafkaProducer(
        client_id=f"{cfg['client_id']}-rejects",
        acks="all",
        enable_idempotence=True,
        **_security(cfg),
    )


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


def _source_uri(group_id: str) -> str:
    return f"urn:unicop:eda:{group_id}"


def reject_notice(
    record: Any, event: dict[str, Any], group_id: str, invalid_count: int, encoding: str = "utf-8"
) -> dict[str, Any]:
    """The CloudEvents notice published to rejects_topic for an error event made by record_to_event.

    Shaped like the receiver's unicop.webhook.rejected notices; the id is a UUIDv5 of the group and the
    coordinates, so a notice re-published after a crash (before the commit) is a recognisable duplicate."""
    raw: bytes = record.value or b""
    kafka = event["meta"]["kafka"]
    excerpt = raw[:REJECT_EXCERPT_BYTES]
    value: dict[str, Any] = {
        "bytes": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "truncated": len(raw) > REJECT_EXCERPT_BYTES,
    }
    if event["body"]["raw_base64"] is not None:
        value["excerpt_base64"] = base64.b64encode(excerpt).decode("ascii")
    else:
        # decodable as a whole; the cut may split a multi-byte character, hence "replace"
        value["excerpt"] = excerpt.decode(encoding, errors="replace")
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"unicop-eda-reject:{group_id}:{kafka['source_offset']}")),
        "source": _source_uri(group_id),
        "type": REJECT_NOTICE_TYPE,
        "subject": kafka["source_offset"],
        "time": datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": {
            "code": event["body"]["code"],
            "reason": event["body"]["error"],
            "kafka": {k: kafka.get(k) for k in ("topic", "partition", "offset", "key", "key_base64", "timestamp")},
            "headers": event["meta"]["headers"],
            "value": value,
            "group_id": group_id,
            "invalid_count": invalid_count,
        },
    }


async def _publish_reject(producer: AIOKafkaProducer, topic: str, notice: dict[str, Any]) -> None:
    """Publishes until the broker acknowledged it. Never gives up: the caller commits right after."""
    value = json.dumps(notice, separators=(",", ":")).encode("utf-8")
    headers = [("content-type", CLOUDEVENTS_CONTENT_TYPE.encode()), ("message_uuid", notice["id"].encode())]
    kafka = notice["data"]["kafka"]
    backoff = REJECT_BACKOFF_INITIAL_S
    attempt = 1
    while True:
        try:
            await producer.send_and_wait(topic, value=value, key=notice["source"].encode(), headers=headers)
            return
        except (KafkaError, OSError, TimeoutError) as exc:
            logger.error(
                "unicop_kafka: publishing the reject of topic=%s partition=%s offset=%s to %s failed "
                "(attempt %d: %r); retrying in %.1f s, record not committed",
                kafka["topic"],
                kafka["partition"],
                kafka["offset"],
                topic,
                attempt,
                exc,
                backoff,
            )
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, REJECT_BACKOFF_MAX_S)
        attempt += 1


async def _wait_for_feedback(feedback: asyncio.Queue, event: dict[str, Any], wait_s: float | None) -> None:
    expected = event["meta"]["uuid"]
    while True:
        try:
            data = await asyncio.wait_for(feedback.get(), wait_s) if wait_s else await feedback.get()
        except TimeoutError:
            raise RuntimeError(
                f"unicop_kafka: the rule engine did not acknowledge event {expected} "
                f"({event['meta']['kafka']['source_offset']}) within {wait_s} s; stopping without committing it "
                "(it is redelivered after a restart)"
            ) from None
        got = (data or {}).get("meta", {}).get("uuid") if isinstance(data, dict) else None
        if got == expected or got is None:
            return
        logger.warning("unicop_kafka: feedback for event %s while waiting for %s; ignored", got, expected)


async def _commit(consumer: AIOKafkaConsumer, record: Any) -> None:
    try:
        await consumer.commit({TopicPartition(record.topic, record.partition): record.offset + 1})
    except KafkaError as exc:
        # e.g. the group rebalanced while the engine held the event: the record will be delivered again
        # (at-least-once), never lost.
        logger.error(
            "unicop_kafka: commit of %s:%s:%s failed (%s); the record will be redelivered",
            record.topic,
            record.partition,
            record.offset,
            exc,
        )


class _Source:
    """One running source: its consumer, its optional rejects producer and its counters."""

    def __init__(self, cfg: dict[str, Any], queue: Any, feedback: asyncio.Queue | None) -> None:
        self.cfg = cfg
        self.queue = queue
        self.feedback = feedback
        self.consumer = _consumer(cfg)
        self.producer = _producer(cfg) if cfg["rejects_topic"] else None
        self.delivered = 0
        self.invalid = 0  # records that could not become an event, since start

    async def run(self) -> None:
        cfg = self.cfg
        while cfg["max_messages"] is None or self.delivered < cfg["max_messages"]:
            try:
                if cfg["idle_timeout"]:
                    record = await asyncio.wait_for(self.consumer.getone(), cfg["idle_timeout"])
                else:
                    record = await self.consumer.getone()
            except TimeoutError:
                logger.info("unicop_kafka: idle for %s s, stopping (finite mode)", cfg["idle_timeout"])
                return

            event, error = record_to_event(record, cfg["encoding"], cfg["max_depth"])
            if error is not None:
                await self._reject(record, event, error)
                if cfg["on_invalid"] == "skip":
                    await _commit(self.consumer, record)
                    continue

            await self.queue.put(event)
            await asyncio.sleep(0)
            if self.feedback is not None:
                await _wait_for_feedback(self.feedback, event, cfg["feedback_timeout"])
            await _commit(self.consumer, record)
            self.delivered += 1

    async def _reject(self, record: Any, event: dict[str, Any], error: str) -> None:
        """Counts, logs and (with rejects_topic) publishes a record that could not become an event."""
        self.invalid += 1
        event["body"]["invalid_count"] = self.invalid
        logger.error(
            "unicop_kafka: invalid record #%d at topic=%s partition=%s offset=%s: %s (%s; %s)",
            self.invalid,
            record.topic,
            record.partition,
            record.offset,
            error,
            "delivered as an error event" if self.cfg["on_invalid"] == "event" else "skipped",
            f"reject notice to {self.cfg['rejects_topic']}" if self.producer else "no rejects_topic",
        )
        if self.producer is not None:
            notice = reject_notice(record, event, self.cfg["group_id"], self.invalid, self.cfg["encoding"])
            await _publish_reject(self.producer, self.cfg["rejects_topic"], notice)


async def main(queue: Any, args: dict[str, Any]) -> None:
    """ansible-rulebook entry point. Returns only in finite mode (max_messages / idle_timeout)."""
    cfg = parse_args(args)
    source = _Source(cfg, queue, args.get("eda_feedback_queue"))
    await source.consumer.start()
    try:
        if source.producer is not None:
            await source.producer.start()
        logger.info(
            "unicop_kafka: consuming %s from %s as group %s (commit after %s; rejects to %s)",
            ",".join(cfg["topics"]),
            ",".join(cfg["bootstrap_servers"]),
            cfg["group_id"],
            "engine feedback" if source.feedback is not None else "queue.put",
            cfg["rejects_topic"] or "nowhere",
        )
        await source.run()
        if cfg["final_delay"]:
            await asyncio.sleep(cfg["final_delay"])
    except asyncio.CancelledError:
        logger.info("unicop_kafka: cancelled after %d record(s), %d invalid", source.delivered, source.invalid)
        raise
    finally:
        await source.consumer.stop()
        if source.producer is not None:
            await source.producer.stop()


if __name__ == "__main__":
    # Mock runner: prints the events instead of handing them to ansible-rulebook.
    #   python eda/sources/unicop_kafka.py --bootstrap-servers 127.0.0.1:9092 \
    #       --topic unicop.reconcile.requests.v1 --group-id probe --idle-timeout 5
    import argparse
    import sys

    class MockQueue:
        async def put(self, event: dict[str, Any]) -> None:
            print(json.dumps(event, indent=2, sort_keys=True), flush=True)

    parser = argparse.ArgumentParser(description="unicop_kafka mock runner: prints events")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group-id", required=True)
    parser.add_argument("--offset", default="earliest")
    parser.add_argument("--max-messages", type=int)
    parser.add_argument("--idle-timeout", type=float, default=5.0)
    parser.add_argument("--rejects-topic", help="publish a reject notice per invalid record to this topic")
    ns = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    try:
        asyncio.run(
            main(
                MockQueue(),
                {
                    "bootstrap_servers": ns.bootstrap_servers,
                    "topic": ns.topic,
                    "group_id": ns.group_id,
                    "offset": ns.offset,
                    "max_messages": ns.max_messages,
                    "idle_timeout": ns.idle_timeout,
                    "rejects_topic": ns.rejects_topic,
                    "final_delay": 0,
                },
            )
        )
    except ConfigError as exc:
        sys.exit(str(exc))
