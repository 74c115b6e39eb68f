"""pytest plugin (``-p csc_devkit.pytest_plugin``): session-wide Kafka and PostgreSQL.

Each service starts the first time a test asks for its fixture and stops when the
session ends; sessions that request neither start nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from csc_devkit import fixtures
from csc_devkit.localpg import PgParams


def pytest_configure(config: pytest.Config) -> None:
    # Lets the devkit tests run from a rootdir whose config does not declare the marker.
    config.addinivalue_line("markers", "integration: needs a real broker or database")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a Kafka broker shared by the whole session."""
    with fixtures.kafka_bootstrap() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def postgres_params() -> Iterator[PgParams]:
    """Connection params (host, port, user, password, dbname) of a session-wide PostgreSQL."""
    with fixtures.postgres_params() as params:
        yield params
