"""Fakes for aiokafka's consumer and producer, so the source's tests need no broker.

They follow the parts of aiokafka 0.14 the source uses: ``AIOKafkaConsumer(*topics, **config)`` with
``start/getone/commit/stop``, ``AIOKafkaProducer(**config)`` with ``start/send_and_wait/stop``, and
``ConsumerRecord`` itself (``aiokafka.structs``), so a record looks exactly like one from a broker.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import ConsumerRecord, TopicPartition

from unicop_kafka_lib import kafka_clients, rejects

__all__ = ["FakeKafka", "SentMessage", "record"]

TOPIC = "unicop.reconcile.requests.v1"


def record(offset: int, value: bytes | None, *, key: bytes | None = b"dcim.device:1", headers: Any = ()) -> Any:
    """A ConsumerRecord as aiokafka hands it over (partition 0 of TOPIC)."""
    return ConsumerRecord(
        topic=TOPIC,
        partition=0,
        offset=offset,
        timestamp=1_700_000_000_000 + offset,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value or b""),
        headers=list(headers),
    )


@dataclass
class SentMessage:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class FakeKafka:
    """One fake cluster per test: the records to consume and everything the source did with them."""

    records: list[Any] = field(default_factory=list)
    # (what, offset) in the order it happened: ("send", offset of the rejected record) / ("commit", next offset)
    timeline: list[tuple[str, int]] = field(default_factory=list)
    commits: list[dict[tuple[str, int], int]] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    consumer_config: dict[str, Any] = field(default_factory=dict)
    producer_config: dict[str, Any] | None = None
    producer_stopped: bool = False
    consumer_stopped: bool = False
    # the next this many sends fail like an unreachable broker
    failing_sends: int = 0
    send_attempts: int = 0
    send_attempted: asyncio.Event | None = None
    committed: asyncio.Event | None = None

    def consumer(self, *topics: str, **config: Any) -> _Consumer:
        self.consumer_config = {"topics": topics, **config}
        return _Consumer(self)

    def producer(self, **config: Any) -> _Producer:
        self.producer_config = config
        return _Producer(self)

    def commit_offsets(self) -> list[int]:
        return [offset for c in self.commits for offset in c.values()]


class _Consumer:
    def __init__(self, kafka: FakeKafka) -> None:
        self.kafka = kafka

    async def start(self) -> None:
        pass

    async def getone(self) -> Any:
        if self.kafka.records:
            return self.kafka.records.pop(0)
        await asyncio.Event().wait()  # like a quiet topic: blocks until cancelled
        raise AssertionError("unreachable")

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.kafka.commits.append({(tp.topic, tp.partition): off for tp, off in offsets.items()})
        self.kafka.timeline.extend(("commit", off) for off in offsets.values())
        if self.kafka.committed is not None:
            self.kafka.committed.set()

    async def stop(self) -> None:
        self.kafka.consumer_stopped = True


class _Producer:
    def __init__(self, kafka: FakeKafka) -> None:
        self.kafka = kafka

    async def start(self) -> None:
        pass

    async def send_and_wait(
        self, topic: str, value: bytes | None = None, key: bytes | None = None, headers: Any = None, **_: Any
    ) -> None:
        self.kafka.send_attempts += 1
        if self.kafka.send_attempted is not None:
            self.kafka.send_attempted.set()
        if self.kafka.failing_sends > 0:
            self.kafka.failing_sends -= 1
            raise KafkaConnectionError("fake broker unreachable")
        assert value is not None
        self.kafka.sent.append(SentMessage(topic, key, value, list(headers or [])))
        self.kafka.timeline.append(("send", json.loads(value)["data"]["kafka"]["offset"]))

    async def stop(self) -> None:
        self.kafka.producer_stopped = True


@pytest.fixture
def kafka(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKafka]:
    fake = FakeKafka()
    # where the source builds its clients (raising: a renamed name must fail here, not reach a real broker)
    monkeypatch.setattr(kafka_clients, "AIOKafkaConsumer", fake.consumer)
    monkeypatch.setattr(kafka_clients, "AIOKafkaProducer", fake.producer)
    # retries without waiting, so a test of the retry loop takes milliseconds
    monkeypatch.setattr(rejects, "REJECT_BACKOFF_INITIAL_S", 0.001)
    monkeypatch.setattr(rejects, "REJECT_BACKOFF_MAX_S", 0.002)
    yield fake
