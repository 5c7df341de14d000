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

Layout: this file is the event source `unicop.eda.unicop_kafka` of the Ansible collection unicop.eda
(eda/collection/), the entry point ansible-rulebook loads (``main`` + ``DOCUMENTATION``); the work is done by
the package ``unicop_kafka_lib/`` next to it, one module per concern (its ``__init__.py`` has the map).
"""

from __future__ import annotations

import os
import sys
from typing import Any

# How the package next to this file gets imported. ansible-rulebook 1.3.2 loads a collection's source with
# runpy.run_path("<collection>/extensions/eda/plugins/event_source/unicop_kafka.py") (ansible_rulebook/engine.py,
# start_source; the same for a -S directory): the file runs as a module named "<run_path>", outside any package (so
# no relative import, and no `ansible_collections.unicop.eda` import either: the collections path is not on
# sys.path), and run_path of a *file* does not put its directory on sys.path. So this directory is put first on
# sys.path, once per process, before the import: then `unicop_kafka_lib` is always the package beside this file,
# wherever the collection was installed. Nothing else lives in this event_source directory, so no other import can
# be shadowed by it. The same holds for `python unicop_kafka.py` and for pytest (pythonpath in eda/pyproject.toml).
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from unicop_kafka_lib.arguments import parse_args  # noqa: E402 (needs the sys.path entry above)
from unicop_kafka_lib.consumer import consume  # noqa: E402

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
    it fails), then become events with C(body.type == "unicop.source.invalid_record") (C(on_invalid=event),
    the default) or are skipped (C(on_invalid=skip)); both are committed.
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
        C(<prefix>.rejected.v1)). CloudEvents JSON, C(type=unicop.source.rejected), key = C(source),
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
    description:
      - How to reach the brokers, as C(ansible.eda.kafka) takes it. When the protocol ends in SSL, or any of
        C(cafile), C(certfile), C(keyfile) is set, an SSL context is built (aiokafka C(create_ssl_context)) and
        PLAINTEXT becomes SSL, SASL_PLAINTEXT becomes SASL_SSL.
    type: str
    choices: [PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL]
    default: PLAINTEXT
  sasl_mechanism:
    description: SASL mechanism for SASL_PLAINTEXT / SASL_SSL. PLAIN and SCRAM-* need C(sasl_plain_username) and
      C(sasl_plain_password).
    type: str
    choices: [PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI, OAUTHBEARER]
    default: PLAIN
  sasl_plain_username:
    description: SASL user name (PLAIN, SCRAM-*).
    type: str
  sasl_plain_password:
    description: SASL password (PLAIN, SCRAM-*). Pass it from a vault or an extra var, not in the rulebook.
    type: str
  cafile:
    description: CA bundle (PEM) that signs the brokers' certificates.
    type: str
  certfile:
    description: Client certificate (PEM) for mutual TLS.
    type: str
  keyfile:
    description: Client key (PEM) for mutual TLS.
    type: str
  password:
    description: Password of C(keyfile).
    type: str
  check_hostname:
    description: Verify that the broker's certificate names the host connected to (SSL).
    type: bool
    default: true
  verify_mode:
    description: Whether the broker's certificate must verify against C(cafile) (or the system CAs), as
      Python's C(ssl) verify modes. C(CERT_NONE) needs C(check_hostname=false).
    type: str
    choices: [CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED]
    default: CERT_REQUIRED
"""

EXAMPLES = r"""
- name: unicop reconcile commands
  hosts: all
  execution_strategy: parallel
  sources:
    - name: reconcile_requests
      unicop.eda.unicop_kafka:
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

# run (the collection installed, e.g. by scripts/eda install into var/eda/collections):
#   ANSIBLE_COLLECTIONS_PATH=var/eda/collections ansible-rulebook -r rulebook.yml --persistence-id unicop-eda \
#     --vars vars.yml
# finite (tests): add max_messages: 3 and/or idle_timeout: 10 to the source arguments.
"""

__all__ = ["DOCUMENTATION", "EXAMPLES", "main"]


async def main(queue: Any, args: dict[str, Any]) -> None:
    """ansible-rulebook entry point. Returns only in finite mode (max_messages / idle_timeout).

    Raises ConfigError (unicop_kafka_lib.arguments) for bad arguments, before connecting to Kafka."""
    await consume(parse_args(args), queue, args.get("eda_feedback_queue"))


if __name__ == "__main__":
    # Mock runner: prints the events instead of handing them to ansible-rulebook (--help for its options).
    from unicop_kafka_lib.mock_runner import run

    run(main)
