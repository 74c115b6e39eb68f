"""Kafka credentials from the environment, as the Kubernetes manifests set them."""

from __future__ import annotations

import pytest
from faststream.security import SASLScram512

from csc_messaging.kafka_conn import KafkaConnection
from csc_messaging.settings import ServiceSettings


def test_plaintext_by_default() -> None:
    options = KafkaConnection("127.0.0.1:9092").client_options()
    assert options == {"bootstrap_servers": "127.0.0.1:9092", "security_protocol": "PLAINTEXT"}
    assert KafkaConnection("127.0.0.1:9092").faststream_security() is None


def test_strimzi_scram_over_tls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": "csc-kafka-kafka-bootstrap:9093",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "csc-sla",
        "KAFKA_SASL_PASSWORD": "from-the-secret",
    }.items():
        monkeypatch.setenv(name, value)
    kafka = ServiceSettings().kafka
    options = kafka.client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "csc-sla"
    assert options["ssl_context"] is not None
    security = kafka.faststream_security()
    assert isinstance(security, SASLScram512) and security.use_ssl


def test_sasl_without_credentials_says_what_is_missing() -> None:
    kafka = KafkaConnection("b:9093", security_protocol="SASL_SSL")
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        kafka.client_options()
