"""The docker-compose stack with its NameNode-HA overlay: one run of benchmarks.compose_ha (two
failover drills: SIGKILL of the active NameNode's container during training, then during an
ingest), its results asserted. Needs a Docker engine, compose v2+ and ``make images``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.compose import down_leaves, fresh_stack
from benchmarks.compose_ha import FILES, STEPS, TABLE, Result, run

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def stack() -> Iterator[Result]:
    with fresh_stack(lambda: run(down=False), FILES) as result:
        yield result


def test_every_ha_service_is_healthy_with_one_active_and_one_standby(stack: Result) -> None:
    for host in (*TABLE.namenodes, *TABLE.datanodes, *TABLE.journalnodes, *TABLE.zookeepers):
        assert stack.services[host.name] == "healthy", host.name
    assert sorted(stack.states.values()) == ["active", "standby"]
    assert sorted(line.split()[-1] for line in stack.haadmin.splitlines() if line.strip()) == [
        "active", "standby"]


def test_training_rides_through_a_failover(stack: Result) -> None:
    drill = stack.training
    assert drill.failover_s > 0
    assert drill.active_at <= drill.write_at
    assert stack.training_rc == 0
    assert stack.steps == list(range(1, STEPS + 1))  # every step once: none failed or resumed
    assert stack.failed_reads == 0
    assert drill.fsck_healthy == 1
    # a client started after the kill got through too (its retries are reported, not failed)
    assert drill.read_at > drill.killed_at


def test_ingest_rides_through_a_failover(stack: Result) -> None:
    # a failed first run left nothing behind, and the second completed
    assert stack.left_after_failure in ([], [False, False]), stack.ingest_first_error
    assert stack.ingest_completed == 1
    assert stack.ingest.fsck_healthy == 1


def test_no_file_was_lost(stack: Result) -> None:
    assert stack.lost_files == 0
    assert stack.bad_clips == 0


def test_killed_namenodes_rejoin_as_standby(stack: Result) -> None:
    assert stack.training.rejoined_standby == stack.ingest.rejoined_standby == 1
    # the second drill killed the NameNode the first one made active
    assert stack.ingest.killed == stack.training.other


def test_down_leaves_nothing_running(stack: Result) -> None:
    assert down_leaves(FILES) == {}
