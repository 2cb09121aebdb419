"""This host's address on the cluster's network: where the servers that jobs open listen.

A job's own servers (Spark's driver, torchrun's stores) default to every interface or to the
first non-loopback one, so a job on the local cluster listened on the machine's external
interface. They need the address the cluster reaches this host at, and nothing else.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

from hadoop.errors import ClusterError
from hadoop.siteconf import host_port, namenode_url, nameservice_addresses


def job_address(namenode: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``REID_HOST`` when set (this host's cluster address, as the daemons are given it), else
    the address this host's connections to the NameNode leave from: the kernel's choice for the
    route, 127.0.0.1 for the local cluster (its client address once ``client-rack`` set one).

    ``namenode`` is an ``hdfs://`` URL (a nameservice's too) or a host; the default is
    ``fs.defaultFS``.
    """
    environ = os.environ if env is None else env
    if environ.get("REID_HOST"):
        return environ["REID_HOST"]
    target = namenode or namenode_url(env=environ)
    parts = urlsplit(target if "//" in target else "//" + target)
    host = parts.hostname
    if not host:
        raise ClusterError(f"{target!r} names no NameNode host")
    members = nameservice_addresses(host, env=environ) if parts.port is None else None
    if members:  # a nameservice (hdfs://reid): the route toward its first NameNode
        host = host_port(next(iter(members.values())))[0]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((host, 9))  # a UDP connect only picks the route; nothing is sent
            return str(probe.getsockname()[0])
    except OSError as exc:
        raise ClusterError(f"cannot find this host's address toward the NameNode {host}: {exc}"
                           " (set REID_HOST to this host's cluster address)") from exc
