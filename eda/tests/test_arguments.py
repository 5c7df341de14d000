"""parse_args: the rulebook arguments the source accepts, their defaults, and the refusals that name the argument."""

from __future__ import annotations

from typing import Any

import pytest

from unicop_kafka_lib.arguments import ConfigError, parse_args

TOPIC = "unicop.reconcile.requests.v1"


def parsed(**extra: Any) -> dict[str, Any]:
    return parse_args({"topic": TOPIC, "group_id": "g", **extra})


def test_defaults_when_only_topic_and_group_are_given() -> None:
    cfg = parsed()
    assert cfg["bootstrap_servers"] == ["127.0.0.1:9092"]
    assert cfg["topics"] == [TOPIC]
    assert cfg["group_id"] == "g"
    assert cfg["offset"] == "earliest"
    assert cfg["client_id"] == "unicop-eda"
    assert cfg["encoding"] == "utf-8"
    assert cfg["on_invalid"] == "event"
    assert cfg["rejects_topic"] is None
    assert cfg["max_depth"] == 100
    assert cfg["feedback_timeout"] == 3600.0
    assert cfg["max_messages"] is None
    assert cfg["idle_timeout"] is None
    assert cfg["final_delay"] == 1.0
    assert cfg["max_poll_interval_ms"] == 300000
    assert cfg["session_timeout_ms"] == 10000
    assert cfg["security_protocol"] == "PLAINTEXT"
    assert cfg["sasl_mechanism"] == "PLAIN"
    assert cfg["check_hostname"] is True


@pytest.mark.parametrize("group_id", [None, "", "   ", 7])
def test_group_id_is_required_when_missing_blank_or_not_a_string(group_id: Any) -> None:
    with pytest.raises(ConfigError, match="'group_id' is required"):
        parse_args({"topic": TOPIC, "group_id": group_id})


def test_group_id_is_stripped() -> None:
    assert parse_args({"topic": TOPIC, "group_id": "  g  "})["group_id"] == "g"


def test_bootstrap_servers_from_a_comma_separated_string_or_a_list() -> None:
    assert parsed(bootstrap_servers="h1:9092, h2:9093,,")["bootstrap_servers"] == ["h1:9092", "h2:9093"]
    assert parsed(bootstrap_servers=["h1:9092", " h2:9093 "])["bootstrap_servers"] == ["h1:9092", "h2:9093"]


def test_host_and_port_are_accepted_when_bootstrap_servers_is_not_given() -> None:
    assert parsed(host="kafka", port=29092)["bootstrap_servers"] == ["kafka:29092"]
    assert parsed(host="kafka")["bootstrap_servers"] == ["kafka:9092"]
    assert parsed(host="kafka", bootstrap_servers="b:1")["bootstrap_servers"] == ["b:1"]


def test_empty_or_malformed_bootstrap_servers_are_refused() -> None:
    with pytest.raises(ConfigError, match="'bootstrap_servers' is empty"):
        parsed(bootstrap_servers=" , ")
    with pytest.raises(ConfigError, match="'bootstrap_servers' must be a string or a list"):
        parsed(bootstrap_servers=9092)


def test_topics_as_a_list_or_a_comma_separated_string() -> None:
    assert parse_args({"topics": ["a", "b"], "group_id": "g"})["topics"] == ["a", "b"]
    assert parse_args({"topics": "a, b", "group_id": "g"})["topics"] == ["a", "b"]


def test_topic_and_topics_are_refused_together_and_one_of_them_is_required() -> None:
    with pytest.raises(ConfigError, match="either 'topic' or 'topics'"):
        parse_args({"topic": "a", "topics": ["b"], "group_id": "g"})
    with pytest.raises(ConfigError, match="'topic' or 'topics' is required"):
        parse_args({"group_id": "g"})


def test_choices_are_case_insensitive_and_anything_else_is_refused() -> None:
    assert parsed(offset="LATEST")["offset"] == "latest"
    assert parsed(on_invalid="Skip")["on_invalid"] == "skip"
    with pytest.raises(ConfigError, match="'offset' must be earliest or latest"):
        parsed(offset="newest")
    with pytest.raises(ConfigError, match="'on_invalid' must be event or skip"):
        parsed(on_invalid="drop")


def test_an_unknown_encoding_is_refused() -> None:
    assert parsed(encoding="latin-1")["encoding"] == "latin-1"
    with pytest.raises(ConfigError, match="unknown 'encoding'"):
        parsed(encoding="no-such-codec")


def test_numbers_may_be_strings_from_rulebook_variables() -> None:
    cfg = parsed(max_messages="3", idle_timeout="2.5", feedback_timeout="10", max_depth="20")
    assert (cfg["max_messages"], cfg["idle_timeout"], cfg["feedback_timeout"], cfg["max_depth"]) == (3, 2.5, 10.0, 20)


@pytest.mark.parametrize("name", ["max_messages", "idle_timeout", "feedback_timeout", "final_delay", "max_depth"])
def test_negative_or_non_numeric_numbers_are_refused_naming_the_argument(name: str) -> None:
    with pytest.raises(ConfigError, match=f"'{name}' must not be negative"):
        parsed(**{name: -1})
    with pytest.raises(ConfigError, match=f"'{name}' must be a number"):
        parsed(**{name: "soon"})


def test_zero_max_messages_and_idle_timeout_mean_run_forever() -> None:
    cfg = parsed(max_messages=0, idle_timeout=0)
    assert cfg["max_messages"] is None
    assert cfg["idle_timeout"] is None
    assert parsed(max_messages="", idle_timeout="")["max_messages"] is None


def test_max_depth_must_be_at_least_one() -> None:
    assert parsed(max_depth=1)["max_depth"] == 1
    with pytest.raises(ConfigError, match="'max_depth' must be at least 1"):
        parsed(max_depth=0)


def test_blank_rejects_topic_means_none_and_a_set_one_is_stripped() -> None:
    assert parsed(rejects_topic=" ")["rejects_topic"] is None
    assert parsed(rejects_topic=" unicop.rejected.v1 ")["rejects_topic"] == "unicop.rejected.v1"


def test_check_hostname_takes_yaml_and_string_booleans_only() -> None:
    assert parsed(check_hostname=False)["check_hostname"] is False
    assert parsed(check_hostname="no")["check_hostname"] is False
    assert parsed(check_hostname="True")["check_hostname"] is True
    with pytest.raises(ConfigError, match="'check_hostname' must be a boolean"):
        parsed(check_hostname="maybe")


def test_security_protocol_sasl_mechanism_and_verify_mode_are_upper_cased() -> None:
    cfg = parsed(
        security_protocol="sasl_ssl",
        sasl_mechanism="scram-sha-512",
        sasl_plain_username="eda",
        sasl_plain_password="pw",
        verify_mode="cert_optional",
    )
    assert (cfg["security_protocol"], cfg["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert cfg["verify_mode"] == "CERT_OPTIONAL"


def test_verify_mode_defaults_to_cert_required_as_ansible_eda_kafka() -> None:
    assert parsed()["verify_mode"] == "CERT_REQUIRED"


@pytest.mark.parametrize(
    ("name", "value"),
    [("security_protocol", "TLS"), ("sasl_mechanism", "SCRAM-SHA-1"), ("verify_mode", "CERT_MAYBE")],
)
def test_unknown_security_values_are_refused_naming_the_argument(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"'{name}' must be one of"):
        parsed(**{name: value})


def test_cert_none_is_refused_while_the_host_name_is_checked() -> None:
    with pytest.raises(ConfigError, match="'verify_mode: CERT_NONE' needs 'check_hostname: false'"):
        parsed(verify_mode="CERT_NONE")
    assert parsed(verify_mode="CERT_NONE", check_hostname=False)["verify_mode"] == "CERT_NONE"


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_with_a_password_mechanism_needs_user_and_password(mechanism: str) -> None:
    with pytest.raises(ConfigError, match="needs 'sasl_plain_username' and 'sasl_plain_password'"):
        parsed(security_protocol="SASL_SSL", sasl_mechanism=mechanism)
    with pytest.raises(ConfigError, match="needs 'sasl_plain_password'"):
        parsed(security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism, sasl_plain_username="eda")
