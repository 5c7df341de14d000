"""The TLS and SASL arguments reach aiokafka's consumer and the rejects producer as ansible.eda.kafka passes them
(eda-awx.md §2.1): an SSL context from aiokafka's create_ssl_context with the CA, the client certificate and its key
password, check_hostname then verify_mode set on it, PLAINTEXT upgraded to SSL when a CA or certificate is given.
The certificates are made by the test with the openssl command line."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeKafka

from unicop_kafka_lib.arguments import parse_args
from unicop_kafka_lib.kafka_clients import build_consumer, build_producer

KEY_PASSWORD = "key-password"
EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A CA (PEM) and a client certificate signed by it, whose key is encrypted with KEY_PASSWORD."""
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", *EC_KEY, "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=UNICOP EDA test CA", "-addext", "basicConstraints=critical,CA:TRUE", cwd=d)  # fmt: skip
    _openssl("req", *EC_KEY, "-keyout", "client.key", "-passout", f"pass:{KEY_PASSWORD}", "-out", "client.csr",
             "-subj", "/CN=unicop-eda", cwd=d)  # fmt: skip
    _openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "client.pem", "-days", "2", cwd=d)  # fmt: skip
    return {"cafile": str(d / "ca.pem"), "certfile": str(d / "client.pem"), "keyfile": str(d / "client.key")}


def clients(kafka: FakeKafka, **args: Any) -> list[dict[str, Any]]:
    """The keyword arguments aiokafka's consumer and the rejects producer were built with."""
    cfg = parse_args({"topic": "t", "group_id": "g", **args})
    build_consumer(cfg)
    build_producer(cfg)
    assert kafka.producer_config is not None
    return [kafka.consumer_config, kafka.producer_config]


def ca_names(context: ssl.SSLContext) -> list[str]:
    return [value for cert in context.get_ca_certs() for rdn in cert["subject"] for (key, value) in rdn]


def test_sasl_ssl_with_ca_client_certificate_and_verify_options_reach_both_clients(
    kafka: FakeKafka, pki: dict[str, str]
) -> None:
    for config in clients(
        kafka,
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username="eda",
        sasl_plain_password="scram-secret",
        password=KEY_PASSWORD,
        check_hostname=False,
        verify_mode="CERT_OPTIONAL",
        **pki,
    ):
        assert config["security_protocol"] == "SASL_SSL"
        assert (config["sasl_mechanism"], config["sasl_plain_username"], config["sasl_plain_password"]) == (
            "SCRAM-SHA-512",
            "eda",
            "scram-secret",
        )
        context = config["ssl_context"]
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_OPTIONAL
        assert context.check_hostname is False
        assert "UNICOP EDA test CA" in ca_names(context)


def test_a_wrong_key_password_fails_before_connecting(kafka: FakeKafka, pki: dict[str, str]) -> None:
    # the password is what decrypts the client key: a wrong one is refused when the context is built
    with pytest.raises(ssl.SSLError):
        clients(kafka, security_protocol="SSL", password="not-the-password", **pki)


def test_a_ca_alone_turns_plaintext_into_ssl_with_full_verification(kafka: FakeKafka, pki: dict[str, str]) -> None:
    for config in clients(kafka, cafile=pki["cafile"]):
        assert config["security_protocol"] == "SSL"
        assert config["ssl_context"].verify_mode == ssl.CERT_REQUIRED
        assert config["ssl_context"].check_hostname is True


def test_a_ca_turns_sasl_plaintext_into_sasl_ssl(kafka: FakeKafka, pki: dict[str, str]) -> None:
    for config in clients(
        kafka,
        security_protocol="SASL_PLAINTEXT",
        sasl_plain_username="eda",
        sasl_plain_password="pw",
        cafile=pki["cafile"],
    ):
        assert (config["security_protocol"], config["sasl_mechanism"]) == ("SASL_SSL", "PLAIN")


def test_cert_none_without_host_name_check_reaches_the_context(kafka: FakeKafka) -> None:
    for config in clients(kafka, security_protocol="SSL", verify_mode="CERT_NONE", check_hostname=False):
        assert config["ssl_context"].verify_mode == ssl.CERT_NONE


def test_plaintext_without_tls_arguments_has_no_ssl_context(kafka: FakeKafka) -> None:
    for config in clients(kafka):
        assert (config["security_protocol"], config["ssl_context"]) == ("PLAINTEXT", None)
