"""unicop_kafka: what ansible-rulebook gets, what is committed when, and what happens to poison records.

Every test drives the real ``main()`` against the fakes in conftest.py (no broker): records go in through
``getone()``, events come out on the queue ansible-rulebook would pass, commits and reject notices are recorded
in the order they happened.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from typing import Any

import pytest
from conftest import TOPIC, FakeKafka, record

import unicop_kafka
from unicop_kafka_lib import arguments, events, rejects

REJECTS = "unicop.rejected.v1"
RECONCILE_ID = "0b9a0f52-6f55-4a42-9a56-2d1b8f0c1e11"
VALID = json.dumps({"type": "unicop.reconcile.command", "subject": "dcim.device:1"}).encode()
# json.loads recurses once per level: far past any recursion limit
DEEP = b"[" * 100_000 + b"]" * 100_000
BOUND = 5.0  # seconds any single await in these tests may take before the test fails


class RecordingQueue:
    """The engine's source queue when it takes every event at once."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def put(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def args(**extra: Any) -> dict[str, Any]:
    return {"topic": TOPIC, "group_id": "g-test", "final_delay": 0, **extra}


def run(queue: Any, source_args: dict[str, Any]) -> None:
    asyncio.run(asyncio.wait_for(unicop_kafka.main(queue, source_args), BOUND))


def notice(kafka: FakeKafka, index: int = 0) -> dict[str, Any]:
    return json.loads(kafka.sent[index].value)


def source_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "unicop_kafka"]


@pytest.fixture(autouse=True)
def _info_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="unicop_kafka")


def test_valid_record_becomes_an_event_with_meta_uuid_from_the_message_uuid_header(kafka: FakeKafka) -> None:
    kafka.records = [record(7, VALID, headers=[("message_uuid", RECONCILE_ID.encode())])]
    queue = RecordingQueue()

    run(queue, args(max_messages=1, rejects_topic=REJECTS))

    [event] = queue.events
    assert event["body"] == json.loads(VALID)
    assert event["meta"]["uuid"] == RECONCILE_ID
    assert event["meta"]["kafka"]["key"] == "dcim.device:1"
    assert event["meta"]["kafka"]["source_offset"] == f"{TOPIC}:0:7"
    assert kafka.commits == [{(TOPIC, 0): 8}]
    assert kafka.sent == []
    assert kafka.consumer_config["enable_auto_commit"] is False
    assert kafka.consumer_stopped


def test_consumer_reads_committed_records_only_so_an_event_id_never_comes_twice(kafka: FakeKafka) -> None:
    # The receiver publishes each lane's batch as one Kafka transaction: records of an aborted transaction (a
    # receiver killed mid-batch, a fenced zombie) are in the log, and only read_committed skips them.
    kafka.records = [record(7, VALID, headers=[("message_uuid", RECONCILE_ID.encode())])]

    run(RecordingQueue(), args(max_messages=1))

    assert kafka.consumer_config["isolation_level"] == "read_committed"


def test_non_json_record_is_counted_logged_published_as_reject_and_committed_past(
    kafka: FakeKafka, caplog: pytest.LogCaptureFixture
) -> None:
    kafka.records = [record(0, b"not json {"), record(1, VALID)]
    queue = RecordingQueue()

    run(queue, args(max_messages=2, rejects_topic=REJECTS))

    # on_invalid: event (default): the error event, then the next record as usual
    invalid, valid = queue.events
    assert invalid["body"]["type"] == events.INVALID_RECORD_TYPE
    assert invalid["body"]["code"] == "not_json"
    assert invalid["body"]["invalid_count"] == 1
    assert invalid["body"]["source_offset"] == f"{TOPIC}:0:0"
    assert valid["body"] == json.loads(VALID)

    [sent] = kafka.sent
    assert sent.topic == REJECTS
    assert dict(sent.headers)["content-type"] == b"application/cloudevents+json; charset=UTF-8"
    body = notice(kafka)
    assert dict(sent.headers)["message_uuid"] == body["id"].encode()
    assert body["specversion"] == "1.0"
    assert body["type"] == "unicop.source.rejected"
    assert body["data"]["code"] == "not_json"
    assert "not JSON" in body["data"]["reason"]
    assert body["data"]["kafka"]["topic"] == TOPIC
    assert body["data"]["kafka"]["partition"] == 0
    assert body["data"]["kafka"]["offset"] == 0
    assert body["data"]["kafka"]["key"] == "dcim.device:1"
    assert body["data"]["value"]["excerpt"] == "not json {"
    assert body["data"]["value"]["bytes"] == len(b"not json {")
    assert body["data"]["value"]["sha256"] == hashlib.sha256(b"not json {").hexdigest()
    assert body["data"]["invalid_count"] == 1

    # the reject is on Kafka before the record is committed
    assert kafka.timeline == [("send", 0), ("commit", 1), ("commit", 2)]
    [line] = [m for m in source_logs(caplog) if "invalid record" in m]
    assert f"topic={TOPIC} partition=0 offset=0" in line
    assert "invalid record #1" in line


def test_deeply_nested_record_is_skipped_counted_rejected_and_the_next_record_is_delivered(
    kafka: FakeKafka, caplog: pytest.LogCaptureFixture
) -> None:
    kafka.records = [record(0, DEEP), record(1, VALID)]
    queue = RecordingQueue()

    run(queue, args(max_messages=1, on_invalid="skip", rejects_topic=REJECTS))

    assert [e["body"] for e in queue.events] == [json.loads(VALID)]
    body = notice(kafka)
    assert body["data"]["code"] == "too_deeply_nested"
    assert body["data"]["kafka"]["offset"] == 0
    assert body["data"]["value"]["bytes"] == len(DEEP)
    assert body["data"]["value"]["truncated"] is True
    assert len(body["data"]["value"]["excerpt"]) == rejects.REJECT_EXCERPT_BYTES
    assert kafka.timeline == [("send", 0), ("commit", 1), ("commit", 2)]
    [line] = [m for m in source_logs(caplog) if "invalid record" in m]
    assert f"topic={TOPIC} partition=0 offset=0" in line
    assert "skipped" in line


def test_record_nested_deeper_than_max_depth_is_rejected_although_json_can_parse_it(kafka: FakeKafka) -> None:
    # 150 levels parse fine in Python, but the engine copies events recursively again (ansible-rulebook,
    # Drools' JSON reader): the source bounds the depth itself.
    kafka.records = [record(0, b"[" * 150 + b"]" * 150), record(1, VALID)]
    queue = RecordingQueue()

    run(queue, args(max_messages=1, on_invalid="skip", rejects_topic=REJECTS, max_depth=100))

    assert [e["body"] for e in queue.events] == [json.loads(VALID)]
    assert notice(kafka)["data"]["code"] == "too_deeply_nested"
    assert kafka.commit_offsets() == [1, 2]


def test_undecodable_value_is_rejected_with_a_base64_excerpt(kafka: FakeKafka) -> None:
    raw = b'{"a": "\xff\xfe"}'
    kafka.records = [record(0, raw), record(1, VALID)]
    queue = RecordingQueue()

    run(queue, args(max_messages=1, on_invalid="skip", rejects_topic=REJECTS))

    value = notice(kafka)["data"]["value"]
    assert notice(kafka)["data"]["code"] == "not_decodable"
    assert "excerpt" not in value
    assert base64.b64decode(value["excerpt_base64"]) == raw
    assert kafka.commit_offsets() == [1, 2]


def test_tombstone_is_rejected_and_committed_past(kafka: FakeKafka) -> None:
    kafka.records = [record(0, None), record(1, VALID)]
    queue = RecordingQueue()

    run(queue, args(max_messages=1, on_invalid="skip", rejects_topic=REJECTS))

    assert notice(kafka)["data"]["code"] == "tombstone"
    assert notice(kafka)["data"]["value"]["bytes"] == 0
    assert kafka.commit_offsets() == [1, 2]


def test_invalid_records_are_counted_per_source_in_the_log_the_event_and_the_notice(
    kafka: FakeKafka, caplog: pytest.LogCaptureFixture
) -> None:
    kafka.records = [record(0, b"x"), record(1, DEEP), record(2, VALID), record(3, b"y")]
    queue = RecordingQueue()

    run(queue, args(max_messages=4, rejects_topic=REJECTS))

    counts = [e["body"].get("invalid_count") for e in queue.events]
    assert counts == [1, 2, None, 3]
    assert [notice(kafka, i)["data"]["invalid_count"] for i in range(3)] == [1, 2, 3]
    assert [notice(kafka, i)["data"]["kafka"]["offset"] for i in range(3)] == [0, 1, 3]
    lines = [m for m in source_logs(caplog) if "invalid record" in m]
    assert ["invalid record #1" in lines[0], "invalid record #2" in lines[1], "invalid record #3" in lines[2]] == [
        True,
        True,
        True,
    ]
    assert kafka.commit_offsets() == [1, 2, 3, 4]
    # the same record always gets the same notice id, so a notice re-sent after a crash is a visible duplicate
    assert len({notice(kafka, i)["id"] for i in range(3)}) == 3


def test_without_rejects_topic_invalid_records_are_still_skipped_and_committed(kafka: FakeKafka) -> None:
    kafka.records = [record(0, DEEP), record(1, b"nope"), record(2, VALID)]
    queue = RecordingQueue()

    run(queue, args(max_messages=1, on_invalid="skip"))

    assert [e["body"] for e in queue.events] == [json.loads(VALID)]
    assert kafka.producer_config is None
    assert kafka.commit_offsets() == [1, 2, 3]


def test_commit_waits_for_the_engine_feedback(kafka: FakeKafka) -> None:
    kafka.records = [record(0, VALID, headers=[("message_uuid", RECONCILE_ID.encode())])]

    async def scenario() -> None:
        kafka.committed = asyncio.Event()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1)
        feedback: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        source = asyncio.create_task(unicop_kafka.main(queue, args(max_messages=1, eda_feedback_queue=feedback)))
        event = await asyncio.wait_for(queue.get(), BOUND)
        for _ in range(50):  # let the source run as far as it can without the feedback
            await asyncio.sleep(0)
        assert kafka.commits == []
        await feedback.put(event)  # what ansible-rulebook does right after lang.post()
        await asyncio.wait_for(kafka.committed.wait(), BOUND)
        await asyncio.wait_for(source, BOUND)

    asyncio.run(scenario())
    assert kafka.commits == [{(TOPIC, 0): 1}]


def test_commit_waits_for_queue_put_without_feedback(kafka: FakeKafka) -> None:
    kafka.records = [record(0, VALID)]

    class BlockingQueue:
        def __init__(self) -> None:
            self.release = asyncio.Event()
            self.entered = asyncio.Event()

        async def put(self, event: dict[str, Any]) -> None:
            self.entered.set()
            await self.release.wait()

    async def scenario() -> None:
        queue = BlockingQueue()
        source = asyncio.create_task(unicop_kafka.main(queue, args(max_messages=1)))
        await asyncio.wait_for(queue.entered.wait(), BOUND)
        for _ in range(50):
            await asyncio.sleep(0)
        assert kafka.commits == []
        queue.release.set()
        await asyncio.wait_for(source, BOUND)

    asyncio.run(scenario())
    assert kafka.commits == [{(TOPIC, 0): 1}]


def test_failing_reject_publish_is_retried_with_a_log_line_and_never_committed(
    kafka: FakeKafka, caplog: pytest.LogCaptureFixture
) -> None:
    kafka.records = [record(0, b"not json"), record(1, VALID)]
    kafka.failing_sends = 10**9

    async def scenario() -> None:
        queue = RecordingQueue()
        source = asyncio.create_task(unicop_kafka.main(queue, args(max_messages=2, rejects_topic=REJECTS)))
        while kafka.send_attempts < 3:
            kafka.send_attempted = asyncio.Event()
            await asyncio.wait_for(kafka.send_attempted.wait(), BOUND)
        assert not source.done()
        source.cancel()
        with pytest.raises(asyncio.CancelledError):
            await source
        assert queue.events == []  # neither the error event nor the next record went past the poison record

    asyncio.run(scenario())
    assert kafka.commits == []
    assert kafka.sent == []
    assert kafka.consumer_stopped and kafka.producer_stopped
    retries = [m for m in source_logs(caplog) if "publishing the reject" in m]
    assert len(retries) >= 2
    assert f"topic={TOPIC} partition=0 offset=0" in retries[0]
    assert "not committed" in retries[0]


def test_reject_publish_that_recovers_commits_only_after_the_notice_is_on_kafka(kafka: FakeKafka) -> None:
    kafka.records = [record(0, DEEP), record(1, VALID)]
    kafka.failing_sends = 2
    queue = RecordingQueue()

    run(queue, args(max_messages=1, on_invalid="skip", rejects_topic=REJECTS))

    assert kafka.send_attempts == 3
    assert len(kafka.sent) == 1
    assert kafka.timeline == [("send", 0), ("commit", 1), ("commit", 2)]
    assert [e["body"] for e in queue.events] == [json.loads(VALID)]


def test_rejects_producer_uses_the_consumer_brokers_and_waits_for_all_replicas(kafka: FakeKafka) -> None:
    kafka.records = [record(0, VALID)]

    run(RecordingQueue(), args(max_messages=1, rejects_topic=REJECTS, bootstrap_servers="h1:9092,h2:9092"))

    assert kafka.producer_config is not None
    assert kafka.producer_config["bootstrap_servers"] == ["h1:9092", "h2:9092"]
    assert kafka.producer_config["acks"] == "all"
    assert kafka.producer_stopped


def test_parse_args_defaults_and_refusals() -> None:
    cfg = arguments.parse_args({"topic": TOPIC, "group_id": "g"})
    assert cfg["rejects_topic"] is None
    assert cfg["max_depth"] == 100
    assert arguments.parse_args({"topic": TOPIC, "group_id": "g", "rejects_topic": " "})["rejects_topic"] is None
    with pytest.raises(arguments.ConfigError, match="max_depth"):
        arguments.parse_args({"topic": TOPIC, "group_id": "g", "max_depth": 0})
    with pytest.raises(arguments.ConfigError, match="on_invalid"):
        arguments.parse_args({"topic": TOPIC, "group_id": "g", "on_invalid": "drop"})
