"""The aiokafka clients the source uses, built from parse_args() settings. The only module that constructs them."""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.helpers import create_ssl_context

__all__ = ["build_consumer", "build_producer"]


def _security(cfg: dict[str, Any]) -> dict[str, Any]:
    """Connection settings shared by the consumer and the rejects producer."""
    security_protocol = cfg["security_protocol"]
    ssl_context = None
    if security_protocol.endswith("SSL") or cfg["cafile"] or cfg["certfile"] or cfg["keyfile"]:
        ssl_context = create_ssl_context(
            cafile=cfg["cafile"], certfile=cfg["certfile"], keyfile=cfg["keyfile"], password=cfg["password"]
        )
        # as ansible.eda.kafka: the host name check first, then the verify mode (CERT_NONE only without the check;
        # parse_args refuses the other combination)
        ssl_context.check_hostname = cfg["check_hostname"]
        ssl_context.verify_mode = ssl.VerifyMode[cfg["verify_mode"]]
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


def build_consumer(cfg: dict[str, Any]) -> AIOKafkaConsumer:
    # no auto-commit and one record per poll: commits.py commits each record itself, after the engine took it
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


def build_producer(cfg: dict[str, Any]) -> AIOKafkaProducer:
    # acks=all + idempotence: a notice counts as published only once every in-sync replica has it, because
    # the record is committed (gone for this group) right after.
    return AIOKafkaProducer(
        client_id=f"{cfg['client_id']}-rejects",
        acks="all",
        enable_idempotence=True,
        **_security(cfg),
    )
