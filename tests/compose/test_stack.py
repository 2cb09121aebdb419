"""The docker-compose stack end to end (``make test-compose``): one run of benchmarks.compose
(quick), then its results asserted. Needs a Docker engine, compose v2+ and ``make images``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.compose import REPO, Result, down_leaves, fresh_stack, run
from hadoop.siteconf import CONF_DIR
from hadoop.topology import load_rack_table

pytestmark = pytest.mark.docker
TABLE = load_rack_table(CONF_DIR / "racks.csv")


@pytest.fixture(scope="module")
def stack() -> Iterator[Result]:
    with fresh_stack(lambda: run(quick=True, down=False)) as result:
        yield result


def test_every_service_is_up_and_hdfs_daemons_are_healthy(stack: Result) -> None:
    expected = {TABLE.namenode.name, *(h.name for h in TABLE.datanodes), "spark-master",
                *(f"spark-{h.name}" for h in TABLE.datanodes), "trainer1", "trainer2"}
    assert set(stack.services) == expected
    for host in (TABLE.namenode, *TABLE.datanodes):
        assert stack.services[host.name] == "healthy", host.name
    assert stack.healthy == 1


def test_racks_inside_the_stack_are_the_rack_tables(stack: Result) -> None:
    expected: dict[str, set[str]] = {}
    for host in TABLE.datanodes:
        expected.setdefault(host.rack, set()).add(host.compose_ip)
    assert {rack: set(ips) for rack, ips in stack.topology.items()} == expected


def test_shards_have_three_replicas_on_two_racks(stack: Result) -> None:
    blocks = stack.placement["blocks"]
    assert blocks > 0
    assert stack.placement["three_replicas"] == blocks
    assert stack.placement["two_racks_or_more"] == blocks


def test_spark_ingest_completed_and_the_scan_read_every_shard(stack: Result) -> None:
    assert stack.ingest_s > 0
    assert stack.scan["files"] > 0
    assert stack.scan["bytes"] == stack.scan["expected_bytes"]
    # every scan task ran beside a replica of its shard (a worker shares each DataNode's address)
    assert sum(stack.locality.values()) > 0
    assert stack.node_local_frac > 0.5, stack.locality


def test_two_host_training_equals_the_single_host_run(stack: Result) -> None:
    assert stack.weights["steps"][0] == stack.weights["steps"][1] > 0
    assert stack.weights["max_abs_diff"] <= 1e-6


def test_evaluation_report_lands_on_the_host(stack: Result) -> None:
    reports = REPO / "reports" / "compose"
    assert (reports / "report" / "index.html").is_file()
    # and the report did not replace what the run wrote beside it
    assert (reports / "two-host" / "metrics.csv").is_file()
    assert any((reports / "spark-events" / "scan").iterdir())


def test_a_killed_datanode_is_healed_without_a_failed_read(stack: Result) -> None:
    assert stack.lost_blocks == 0
    assert stack.heal_reads["reads"] > 0
    assert stack.heal_reads["failures"] == 0


def test_down_leaves_nothing_running(stack: Result) -> None:
    assert down_leaves() == {}
