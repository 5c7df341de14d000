"""Reject notices: the CloudEvent published to ``rejects_topic`` for a poison record, and its publish.

The notice is on Kafka before the record is committed: a failed publish is retried forever with backoff (each
failure logged), because the record must not be committed without its notice.
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

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

__all__ = [
    "CLOUDEVENTS_CONTENT_TYPE",
    "REJECT_BACKOFF_INITIAL_S",
    "REJECT_BACKOFF_MAX_S",
    "REJECT_EXCERPT_BYTES",
    "REJECT_NOTICE_SCHEMA",
    "REJECT_NOTICE_TYPE",
    "publish_reject",
    "reject_notice",
]

logger = logging.getLogger("unicop_kafka")

REJECT_NOTICE_TYPE = "unicop.source.rejected"
#: the notice's schema (schemas/source-rejected.v1.schema.json), named in every notice like the receiver's
REJECT_NOTICE_SCHEMA = "https://unicop.dev/schemas/source-rejected.v1.schema.json"
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
# like the receiver's unicop.webhook.rejected notices (64 KiB), still far below Kafka's default 1 MB message limit
# once base64'd; the error event itself carries only events.RAW_PREVIEW_BYTES
REJECT_EXCERPT_BYTES = 64 * 1024
# a failed reject publish is retried forever (the record must not be committed without its notice):
# 0.5 s doubling up to 30 s, so an outage of the rejects topic costs a log line every 30 s, not a busy loop
REJECT_BACKOFF_INITIAL_S = 0.5
REJECT_BACKOFF_MAX_S = 30.0


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
        "dataschema": REJECT_NOTICE_SCHEMA,
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


async def publish_reject(producer: AIOKafkaProducer, topic: str, notice: dict[str, Any]) -> None:
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
