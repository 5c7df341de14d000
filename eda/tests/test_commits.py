"""Commit tracking: exactly the record's next offset is committed, and only after the engine's feedback."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiokafka.errors import CommitFailedError
from aiokafka.structs import TopicPartition
from conftest import TOPIC, record

from unicop_kafka_lib.commits import commit, wait_for_feedback

BOUND = 5.0


def event_for(uuid: str, offset: int = 3) -> dict[str, Any]:
    return {"body": {}, "meta": {"uuid": uuid, "kafka": {"source_offset": f"{TOPIC}:0:{offset}"}}}


class RecordingConsumer:
    def __init__(self, error: Exception | None = None) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.error = error

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.error is not None:
            raise self.error
        self.commits.append(offsets)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, BOUND))


def test_commit_stores_the_offset_after_the_record_for_its_partition_only() -> None:
    consumer = RecordingConsumer()

    run(commit(consumer, record(41, b"{}")))

    assert consumer.commits == [{TopicPartition(TOPIC, 0): 42}]


def test_a_failed_commit_is_logged_not_raised_so_the_record_is_redelivered(caplog: pytest.LogCaptureFixture) -> None:
    consumer = RecordingConsumer(CommitFailedError("group rebalanced"))

    run(commit(consumer, record(41, b"{}")))

    [line] = [r.getMessage() for r in caplog.records if r.name == "unicop_kafka"]
    assert f"commit of {TOPIC}:0:41 failed" in line
    assert "redelivered" in line


def test_feedback_for_the_awaited_event_ends_the_wait() -> None:
    async def scenario() -> None:
        feedback: asyncio.Queue[Any] = asyncio.Queue()
        waiting = asyncio.create_task(wait_for_feedback(feedback, event_for("u-1"), 60))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()
        await feedback.put(event_for("u-1"))
        await waiting

    run(scenario())


def test_feedback_for_another_event_is_logged_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        feedback: asyncio.Queue[Any] = asyncio.Queue()
        await feedback.put(event_for("u-0"))
        waiting = asyncio.create_task(wait_for_feedback(feedback, event_for("u-1"), 60))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()
        await feedback.put(event_for("u-1"))
        await waiting

    run(scenario())
    [line] = [r.getMessage() for r in caplog.records if r.name == "unicop_kafka" and r.levelno == logging.WARNING]
    assert "feedback for event u-0 while waiting for u-1" in line


@pytest.mark.parametrize("data", [None, {}, {"meta": {}}, "not a dict"])
def test_feedback_without_a_uuid_counts_as_the_awaited_event(data: Any) -> None:
    async def scenario() -> None:
        feedback: asyncio.Queue[Any] = asyncio.Queue()
        await feedback.put(data)
        await wait_for_feedback(feedback, event_for("u-1"), 60)

    run(scenario())


def test_no_feedback_within_the_timeout_raises_naming_the_event_and_its_coordinates() -> None:
    async def scenario() -> None:
        await wait_for_feedback(asyncio.Queue(), event_for("u-1", offset=9), 0.01)

    with pytest.raises(RuntimeError, match=f"did not acknowledge event u-1 \\({TOPIC}:0:9\\) within 0.01 s"):
        run(scenario())


@pytest.mark.parametrize("wait_s", [0, None])
def test_a_zero_or_missing_timeout_waits_without_a_deadline(wait_s: float | None) -> None:
    async def scenario() -> None:
        feedback: asyncio.Queue[Any] = asyncio.Queue()
        waiting = asyncio.create_task(wait_for_feedback(feedback, event_for("u-1"), wait_s))
        for _ in range(20):  # a timeout of 0 would already have fired on the first of these
            await asyncio.sleep(0)
        assert not waiting.done()
        await feedback.put(event_for("u-1"))
        await waiting

    run(scenario())
