"""Shared fixtures. Cluster tests (marked ``cluster``) share one real HDFS cluster per session.

The cluster is the project's own local launcher with the ``test`` profile (fast heartbeats and
repair), in a fresh run directory, started on first use and stopped at the end of the session
even when tests fail. Tests marked ``faults`` damage it on purpose, so they run last.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hadoop.cluster import LocalCluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run fault-injection tests after every other test (stable sort keeps the rest in order)."""
    items.sort(key=lambda item: item.get_closest_marker("faults") is not None)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    run_dir: Path = tmp_path_factory.mktemp("hdfs-cluster")
    local = LocalCluster(run_dir=run_dir, profile="test")
    try:
        local.up()
        yield local
    finally:
        local.down()
