"""The parts of the ``unicop_kafka`` event source, one module per concern.

ansible-rulebook runs ``../unicop_kafka.py`` (the entry point: ``main(queue, args)`` and ``DOCUMENTATION``);
that file puts this folder's parent on ``sys.path`` and imports from here (why: its module docstring).

| module | what it is |
|---|---|
| ``arguments.py`` | ``parse_args``: the rulebook arguments validated into one settings dict; ``ConfigError`` |
| ``kafka_clients.py`` | the aiokafka consumer (no auto-commit, one record per poll) and rejects producer (acks=all) |
| ``events.py`` | ``record_to_event``: a ``ConsumerRecord`` → ``{body, meta}``, or an error event for a poison record |
| ``rejects.py`` | ``reject_notice`` (the ``unicop.source.rejected`` CloudEvent) and its publish, retried until acked |
| ``commits.py`` | committing one record (``offset + 1``) and waiting for the rule engine's feedback first |
| ``consumer.py`` | ``consume``: the loop that ties them together (finite mode, counters, start/stop) |
| ``mock_runner.py`` | ``python unicop_kafka.py --help``: runs the source stand-alone and prints its events |

Every module logs on the logger ``unicop_kafka``, the name the source has always logged under.
"""

__all__: list[str] = []
