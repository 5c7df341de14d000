"""Commit tracking: a record is committed on its own (``offset + 1``) once the rule engine took its event.

With ``feedback: true`` ansible-rulebook hands each event back on ``eda_feedback_queue`` right after
``lang.post()``; wait_for_feedback waits for exactly that event. Without feedback the caller commits right after
``queue.put()`` returned. A failed commit is logged, not raised: the record is then redelivered (at-least-once).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

__all__ = ["commit", "wait_for_feedback"]

logger = logging.getLogger("unicop_kafka")


async def wait_for_feedback(feedback: asyncio.Queue, event: dict[str, Any], wait_s: float | None) -> None:
    """Returns once the engine acknowledged `event` (same meta.uuid, or feedback without a uuid); feedback for
    another event is logged and ignored. After `wait_s` seconds (None or 0: never) raises RuntimeError, so the
    source stops with the record uncommitted."""
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


async def commit(consumer: AIOKafkaConsumer, record: Any) -> None:
    """Commits exactly this record (its partition, offset + 1)."""
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
