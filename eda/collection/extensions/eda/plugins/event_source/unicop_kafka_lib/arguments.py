"""The source's rulebook arguments: validated and normalised into one settings dict, or a ConfigError."""

from __future__ import annotations

from typing import Any

__all__ = ["SASL_MECHANISMS", "SECURITY_PROTOCOLS", "VERIFY_MODES", "ConfigError", "parse_args"]


# The values ansible.eda.kafka accepts for the arguments the two sources share (its DOCUMENTATION); aiokafka would
# refuse anything else only when the source starts connecting, with a message that does not name the argument.
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER")
VERIFY_MODES = ("CERT_NONE", "CERT_OPTIONAL", "CERT_REQUIRED")


class ConfigError(ValueError):
    """Bad source arguments; the message names the argument."""


def _as_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [str(v).strip() for v in value]
    else:
        raise ConfigError(f"unicop_kafka: '{name}' must be a string or a list, got {type(value).__name__}")
    return [v for v in items if v]


def _number(args: dict[str, Any], name: str, default: float | None, *, integer: bool = False) -> Any:
    value = args.get(name, default)
    if value is None or value == "":
        return default
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"unicop_kafka: '{name}' must be a number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"unicop_kafka: '{name}' must not be negative, got {value!r}")
    return number


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "yes", "1", "false", "no", "0"}:
        return value.lower() in {"true", "yes", "1"}
    raise ConfigError(f"unicop_kafka: '{name}' must be a boolean, got {value!r}")


def parse_args(args: dict[str, Any]) -> dict[str, Any]:
    """Validates the rulebook arguments; raises ConfigError with a message naming the argument."""
    group_id = args.get("group_id")
    if not isinstance(group_id, str) or not group_id.strip():
        raise ConfigError(
            "unicop_kafka: 'group_id' is required (without a consumer group nothing is committed and every "
            "restart would start over)"
        )

    if args.get("host") and not args.get("bootstrap_servers"):
        servers = [f"{args['host']}:{args.get('port', 9092)}"]
    else:
        servers = _as_list(args.get("bootstrap_servers", "127.0.0.1:9092"), "bootstrap_servers")
    if not servers:
        raise ConfigError("unicop_kafka: 'bootstrap_servers' is empty")

    if args.get("topic") and args.get("topics"):
        raise ConfigError("unicop_kafka: give either 'topic' or 'topics', not both")
    topics = _as_list(args.get("topic") or args.get("topics"), "topics")
    if not topics:
        raise ConfigError("unicop_kafka: 'topic' or 'topics' is required")

    offset = str(args.get("offset", "earliest")).lower()
    if offset not in {"earliest", "latest"}:
        raise ConfigError(f"unicop_kafka: 'offset' must be earliest or latest, got {args.get('offset')!r}")

    on_invalid = str(args.get("on_invalid", "event")).lower()
    if on_invalid not in {"event", "skip"}:
        raise ConfigError(f"unicop_kafka: 'on_invalid' must be event or skip, got {args.get('on_invalid')!r}")

    encoding = str(args.get("encoding", "utf-8"))
    try:
        "".encode(encoding)
    except LookupError:
        raise ConfigError(f"unicop_kafka: unknown 'encoding' {encoding!r}") from None

    rejects_topic = str(args.get("rejects_topic") or "").strip() or None
    max_depth = _number(args, "max_depth", 100, integer=True)
    if max_depth < 1:
        raise ConfigError(f"unicop_kafka: 'max_depth' must be at least 1, got {args.get('max_depth')!r}")

    max_messages = _number(args, "max_messages", None, integer=True)
    if max_messages == 0:
        max_messages = None
    idle_timeout = _number(args, "idle_timeout", None)
    if idle_timeout == 0:
        idle_timeout = None

    security = _security_args(args)

    return {
        "bootstrap_servers": servers,
        "topics": topics,
        "group_id": group_id.strip(),
        "offset": offset,
        "client_id": str(args.get("client_id", "unicop-eda")),
        "encoding": encoding,
        "on_invalid": on_invalid,
        "rejects_topic": rejects_topic,
        "max_depth": max_depth,
        "feedback_timeout": _number(args, "feedback_timeout", 3600.0),
        "max_messages": max_messages,
        "idle_timeout": idle_timeout,
        "final_delay": _number(args, "final_delay", 1.0),
        "max_poll_interval_ms": _number(args, "max_poll_interval_ms", 300000, integer=True),
        "session_timeout_ms": _number(args, "session_timeout_ms", 10000, integer=True),
        **security,
    }


def _choice(args: dict[str, Any], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = str(args.get(name) or default).upper()
    if value not in choices:
        raise ConfigError(f"unicop_kafka: '{name}' must be one of {', '.join(choices)}, got {args.get(name)!r}")
    return value


def _security_args(args: dict[str, Any]) -> dict[str, Any]:
    """TLS and SASL, named and defaulted as ansible.eda.kafka names them (eda-awx.md §2.1)."""
    security_protocol = _choice(args, "security_protocol", "PLAINTEXT", SECURITY_PROTOCOLS)
    sasl_mechanism = _choice(args, "sasl_mechanism", "PLAIN", SASL_MECHANISMS)
    verify_mode = _choice(args, "verify_mode", "CERT_REQUIRED", VERIFY_MODES)
    check_hostname = _bool(args.get("check_hostname", True), "check_hostname")
    if verify_mode == "CERT_NONE" and check_hostname:
        # Python's ssl refuses the combination itself (ValueError at start-up): say which arguments to change
        raise ConfigError(
            "unicop_kafka: 'verify_mode: CERT_NONE' needs 'check_hostname: false' "
            "(a host name cannot be checked on a certificate that is not verified)"
        )
    if security_protocol.startswith("SASL_") and sasl_mechanism in {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}:
        missing = [n for n in ("sasl_plain_username", "sasl_plain_password") if not args.get(n)]
        if missing:
            raise ConfigError(
                f"unicop_kafka: security_protocol {security_protocol} with sasl_mechanism {sasl_mechanism} "
                f"needs {' and '.join(repr(n) for n in missing)}"
            )
    return {
        "security_protocol": security_protocol,
        "sasl_mechanism": sasl_mechanism,
        "sasl_plain_username": args.get("sasl_plain_username"),
        "sasl_plain_password": args.get("sasl_plain_password"),
        "cafile": args.get("cafile"),
        "certfile": args.get("certfile"),
        "keyfile": args.get("keyfile"),
        "password": args.get("password"),
        "check_hostname": check_hostname,
        "verify_mode": verify_mode,
    }
