"""Runs the source stand-alone and prints its events instead of handing them to ansible-rulebook.

    python eda/collection/extensions/eda/plugins/event_source/unicop_kafka.py --bootstrap-servers 127.0.0.1:9092 \\
        --topic unicop.reconcile.requests.v1 --group-id probe --idle-timeout 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from .arguments import ConfigError

__all__ = ["run"]


class _PrintingQueue:
    async def put(self, event: dict[str, Any]) -> None:
        print(json.dumps(event, indent=2, sort_keys=True), flush=True)


def run(main: Callable[[Any, dict[str, Any]], Awaitable[None]]) -> None:
    """Parses the command line, runs `main` (the entry point's) until finite mode ends it."""
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
                _PrintingQueue(),
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
