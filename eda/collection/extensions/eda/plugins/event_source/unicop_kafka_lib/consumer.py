"""The source's loop: read one record, shape it, hand it to the engine, commit it; poison records on the way.

Per record, in this order: record_to_event (events.py); for a poison record count it, log it and publish its
reject notice (rejects.py), then deliver its error event or skip it (``on_invalid``); ``queue.put``; wait for the
engine's feedback when there is a feedback queue; commit (commits.py). Finite mode (``max_messages``,
``idle_timeout``) ends the loop; anything unexpected propagates and leaves the record uncommitted.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .commits import commit, wait_for_feedback
from .events import record_to_event
from .kafka_clients import build_consumer, build_producer
from .rejects import publish_reject, reject_notice

__all__ = ["Source", "consume"]

logger = logging.getLogger("unicop_kafka")


class Source:
    """One running source: its consumer, its optional rejects producer and its counters."""

    def __init__(self, cfg: dict[str, Any], queue: Any, feedback: asyncio.Queue | None) -> None:
        self.cfg = cfg
        self.queue = queue
        self.feedback = feedback
        self.consumer = build_consumer(cfg)
        self.producer = build_producer(cfg) if cfg["rejects_topic"] else None
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
                    await commit(self.consumer, record)
                    continue

            await self.queue.put(event)
            await asyncio.sleep(0)
            if self.feedback is not None:
                await wait_for_feedback(self.feedback, event, cfg["feedback_timeout"])
            await commit(self.consumer, record)
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
            await publish_reject(self.producer, self.cfg["rejects_topic"], notice)


async def consume(cfg: dict[str, Any], queue: Any, feedback: asyncio.Queue | None) -> None:
    """Starts the clients, runs the loop, stops the clients. Returns only in finite mode."""
    source = Source(cfg, queue, feedback)
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
