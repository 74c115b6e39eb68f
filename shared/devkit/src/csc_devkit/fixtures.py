"""Where tests get Kafka and PostgreSQL from: explicit env, else Docker, else local processes.

Order for each: an already running service named by environment variables (CI service
containers, a developer's own stack), then testcontainers if a Docker engine answers, then
LocalKafka / LocalPostgres. ``CSC_USE_DOCKER=0`` skips the Docker probe.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from csc_devkit.localkafka import LocalKafka
from csc_devkit.localpg import LocalPostgres, PgParams

__all__ = ["docker_available", "kafka_bootstrap", "postgres_params"]

log = logging.getLogger(__name__)

DEFAULT_KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
DEFAULT_POSTGRES_IMAGE = "postgres:16-alpine"

_FALSE = {"0", "false", "no", "off"}


@functools.cache
def docker_available(timeout: float = 2.0) -> bool:
    """True if a Docker engine answers a ping within ``timeout`` seconds (cached)."""
    if os.environ.get("CSC_USE_DOCKER", "").strip().lower() in _FALSE:
        return False
    try:
        from testcontainers.core.docker_client import DockerClient

        return bool(DockerClient(timeout=timeout).client.ping())
    except Exception as exc:
        log.debug("no Docker engine: %s", exc)
        return False


def _community_module(name: str) -> Any:
    # testcontainers 4.13+ moved the modules under testcontainers.community and left
    # deprecated aliases at the old paths; the pin allows both layouts.
    import importlib

    try:
        return importlib.import_module(f"testcontainers.community.{name}")
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module(f"testcontainers.{name}")


@contextlib.contextmanager
def kafka_bootstrap() -> Iterator[str]:
    """Yield a Kafka bootstrap address for the duration of the block.

    ``$KAFKA_BOOTSTRAP_SERVERS`` is used as is; otherwise a KRaft container
    (``$CSC_KAFKA_IMAGE``, default cp-kafka 7.6) or a LocalKafka in a temp dir.
    """
    explicit = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if explicit:
        yield explicit
        return
    if docker_available():
        kafka_container = _community_module("kafka").KafkaContainer
        container = (
            kafka_container(os.environ.get("CSC_KAFKA_IMAGE", DEFAULT_KAFKA_IMAGE))
            .with_kraft()
            # testcontainers only sets the offsets topic to RF 1; transactional producers
            # need the transaction log on a single broker too.
            .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
            .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
            .with_env("KAFKA_NUM_PARTITIONS", "3")
        )
        with container:
            bootstrap: str = container.get_bootstrap_server()
            log.info("Kafka from testcontainers at %s", bootstrap)
            yield bootstrap
        return
    with (
        tempfile.TemporaryDirectory(prefix="csc-kafka-", ignore_cleanup_errors=True) as tmp,
        LocalKafka(Path(tmp)) as broker,
    ):
        log.info("Kafka from LocalKafka at %s", broker.bootstrap_servers)
        yield broker.bootstrap_servers


@contextlib.contextmanager
def postgres_params() -> Iterator[PgParams]:
    """Yield PostgreSQL connection params for the duration of the block.

    ``$POSTGRES_HOST`` (with ``POSTGRES_PORT/USER/PASSWORD/DB``, defaulting to
    5432/postgres/""/postgres) is used as is; otherwise a container
    (``$CSC_POSTGRES_IMAGE``) or a LocalPostgres, both with user, password and database
    ``csc``.
    """
    host = os.environ.get("POSTGRES_HOST")
    if host:
        yield PgParams(
            host=host,
            port=int(os.environ.get("POSTGRES_PORT") or 5432),
            user=os.environ.get("POSTGRES_USER") or "postgres",
            password=os.environ.get("POSTGRES_PASSWORD", ""),
            dbname=os.environ.get("POSTGRES_DB") or "postgres",
        )
        return
    if docker_available():
        postgres_container = _community_module("postgres").PostgresContainer
        container = postgres_container(
            os.environ.get("CSC_POSTGRES_IMAGE", DEFAULT_POSTGRES_IMAGE),
            username="csc",
            password="csc",
            dbname="csc",
            driver=None,
        )
        with container:
            params = PgParams(
                host=container.get_container_host_ip(),
                port=int(container.get_exposed_port(5432)),
                user="csc",
                password="csc",
                dbname="csc",
            )
            log.info("PostgreSQL from testcontainers at %s:%s", params["host"], params["port"])
            yield params
        return
    with LocalPostgres() as server:
        log.info("PostgreSQL from LocalPostgres on port %s", server.port)
        yield server.params
