"""Issue 24's attacks on the secure profile's cluster: every one must get nothing.

One secure cluster per session (``secure_cluster``); the attacks are the ones
``benchmarks/secure.py`` reports (hadoop.security.attacks). Each test prints what every
operation got back, so a failure shows what was allowed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import simplejpeg

from hadoop.cluster import LocalCluster
from hadoop.fs import HdfsFS
from hadoop.security import attacks
from hadoop.security.names import INTRUDER, user_principal

pytestmark = [pytest.mark.cluster, pytest.mark.secure]
FRAME_PATH = "/reid/attack-target/shards/g1/frame.jpg"


def a_frame(seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (256, 128, 3), dtype=np.uint8)
    return bytes(simplejpeg.encode_jpeg(pixels, quality=90))


@pytest.fixture(scope="module")
def target(secure_cluster: LocalCluster) -> str:
    """A frame under /reid written by the service user (its ticket is this process's)."""
    fs = HdfsFS(secure_cluster.namenode_url)
    fs.write_file(FRAME_PATH, a_frame(), overwrite=True)
    return FRAME_PATH


def show(found: list[attacks.Attempt]) -> None:
    print("\n" + "\n".join(attempt.render() for attempt in found))


def test_without_a_ticket_every_operation_is_refused(secure_cluster: LocalCluster,
                                                     target: str) -> None:
    found = attacks.unauthenticated(secure_cluster.namenode_url, target)
    show(found)
    assert len(found) == 14
    assert [a.operation for a in found if a.allowed] == []
    assert HdfsFS(secure_cluster.namenode_url).read_file(target) == a_frame()


def test_the_java_client_without_a_ticket_gains_nothing_as_root(secure_cluster: LocalCluster,
                                                                target: str) -> None:
    """The issue's `HADOOP_USER_NAME=root hdfs dfs -rm -r` deleted anything before."""
    env = {**os.environ, "HADOOP_USER_NAME": "root",
           "KRB5CCNAME": f"FILE:{secure_cluster.run_dir}/no-such-ticket"}
    found = [attacks.hdfs_tool("no ticket+root", ["dfs", "-rm", "-r", "-skipTrash", "/reid"],
                               env)]
    show(found)
    assert not found[0].allowed
    assert HdfsFS(secure_cluster.namenode_url).exists(target)


def test_another_principals_ticket_cannot_read_or_change_reid(secure_cluster: LocalCluster,
                                                              target: str) -> None:
    security = secure_cluster.security
    assert security is not None
    found = attacks.spoofed(secure_cluster.namenode_url, target, user_principal(INTRUDER),
                            security.keytab(INTRUDER))
    show(found)
    assert len(found) == 12
    assert [a.operation for a in found if a.allowed] == []
    fs = HdfsFS(secure_cluster.namenode_url)
    assert fs.read_file(target) == a_frame()
    assert oct(fs.client.get_file_info("/reid").permission) == oct(0o750)


def test_web_endpoints_refuse_anonymous_requests(secure_cluster: LocalCluster,
                                                 target: str) -> None:
    """Before: anonymous WebHDFS LISTSTATUS/OPEN/DELETE and /jmx, /conf answered. Now there is
    no plain HTTP at all, and HTTPS asks for Kerberos (401); with a ticket it answers."""
    security = secure_cluster.security
    assert security is not None
    nn, dn = secure_cluster.table.namenode, secure_cluster.table.datanodes[0]
    https = security.web_url(nn, 9871)
    webhdfs = f"{https}/webhdfs/v1"
    urls = [("GET", f"http://{nn.local_ip}:9870/jmx"),
            ("GET", f"{webhdfs}/reid?op=LISTSTATUS"),
            ("GET", f"{webhdfs}{target}?op=OPEN"),
            ("DELETE", f"{webhdfs}/reid?op=DELETE&recursive=true&user.name=root"),
            ("GET", f"{https}/jmx"), ("GET", f"{https}/conf"),
            ("GET", f"{security.web_url(dn, 9865)}/jmx")]
    found = attacks.anonymous_web(urls, security.cafile)
    show(found)
    assert [a.operation for a in found if a.allowed] == []
    assert all(a.answer == "HTTP 401" for a in found[1:]), "HTTPS must ask for Kerberos"
    with security.admin_http()(f"{webhdfs}/reid?op=LISTSTATUS", 10) as response:
        assert response.status == 200


def test_captured_block_traffic_carries_no_frame_bytes(secure_cluster: LocalCluster) -> None:
    """A root packet capture on the loopback during a write and a read of a frame: the JPEG's
    bytes are nowhere in the DataNodes' streams (tests/hadoop/test_capture.py shows that the
    same capture finds them on the plain profile)."""
    fs = HdfsFS(secure_cluster.namenode_url)
    seen = attacks.cleartext(fs, "/reid/attack-target/shards/g2/frame.jpg", a_frame(1))
    show([seen])
    assert "streams" in seen.answer
    assert not seen.answer.startswith("0 bytes")
    assert not seen.allowed


def test_up_made_its_own_kdc_keytabs_and_host_names(secure_cluster: LocalCluster) -> None:
    security = secure_cluster.security
    assert security is not None
    assert security.kdc.pid() is not None
    hosts = Path("/etc/hosts").read_text()
    assert f"reid-hdfs {security.net} begin" in hosts
    assert str(secure_cluster.run_dir) in hosts
    assert (security.keytab("dn1").stat().st_mode & 0o777) == 0o600
