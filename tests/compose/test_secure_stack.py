"""The secure overlay on the docker-compose stack, end to end: one run of
benchmarks.compose_secure, then its results asserted. Needs a Docker engine, compose v2+ and
``make images``; run with ``pytest -m docker --docker tests/compose/test_secure_stack.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.compose import down_leaves, fresh_stack
from benchmarks.compose_secure import FILES, Result, run
from hadoop.security.stack import KDC_NAME
from hadoop.siteconf import CONF_DIR
from hadoop.topology import load_rack_table

pytestmark = pytest.mark.docker
TABLE = load_rack_table(CONF_DIR / "racks.csv")


@pytest.fixture(scope="module")
def stack() -> Iterator[Result]:
    with fresh_stack(lambda: run(down=False), FILES) as result:
        yield result


def test_the_kdc_and_every_hdfs_daemon_are_healthy(stack: Result) -> None:
    for name in (KDC_NAME, TABLE.namenode.name, *(h.name for h in TABLE.datanodes)):
        assert stack.services[name] == "healthy", name
    assert stack.healthy == 1


def test_the_demo_pipeline_runs_as_the_service_user(stack: Result) -> None:
    assert stack.ingest_s > 0
    assert stack.train_steps > 0
    assert 0.0 <= stack.eval_r1 <= 1.0
    assert len(stack.modes) == 3  # dataset, checkpoints, a shard
    assert all(mode.startswith("reid:reid:") for mode in stack.modes.values()), stack.modes
    directories = [mode for path, mode in stack.modes.items() if not path.endswith(".shard")]
    assert directories == ["reid:reid:0750", "reid:reid:0750"], stack.modes


def test_without_a_ticket_nothing_is_allowed_even_as_root(stack: Result) -> None:
    assert stack.allowed("no ticket") == 0
    assert stack.allowed("no ticket+root") == 0
    assert stack.unauthenticated_ops_allowed == 0


def test_anonymous_https_is_refused(stack: Result) -> None:
    web = [a for a in stack.attempts if a["attack"] == "anonymous web"]
    assert web
    assert not any(a["allowed"] for a in web), web


def test_the_intruders_ticket_cannot_touch_reid(stack: Result) -> None:
    assert any(a["attack"] == "other ticket" for a in stack.attempts)
    assert stack.intruder_ops_allowed == 0
    assert stack.spoofed_ops_allowed == 0


def test_a_capture_of_the_block_traffic_holds_no_frame_bytes(stack: Result) -> None:
    assert stack.control["allowed"], stack.control  # it sees cleartext where there is some
    assert stack.captured_bytes > 0, stack.capture  # and it saw the DataNode streams
    assert not stack.capture["allowed"], stack.capture


def test_down_leaves_nothing_running(stack: Result) -> None:
    assert down_leaves(FILES) == {}
