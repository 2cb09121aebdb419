"""The rack table: which host has which role, address and rack.

``hadoop/conf/racks.csv`` is the single source of truth for the cluster's shape. The local
launcher starts one daemon per row on its ``local_ip``; ``docker-compose.yml`` is generated from
the same rows (``compose_ip``); ``topology.sh`` answers HDFS's rack queries from it.

``REID_LOOPBACK_NET`` (e.g. ``127.0.3``) moves every ``local_ip`` onto another /24 of the loopback
network, keeping the last octet, so several local clusters (one per checkout) can run on one
machine at once. ``topology.sh`` applies the same rule.
"""

from __future__ import annotations

import csv
import ipaddress
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hadoop.errors import TopologyError

COLUMNS = ("host", "role", "local_ip", "compose_ip", "rack")
ROLES = ("namenode", "datanode", "client", "journalnode", "zookeeper")
DEFAULT_RACK = "/default-rack"
_RACK_RE = re.compile(r"^/[A-Za-z0-9_.-]+$")
_HOST_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_NET_RE = re.compile(r"^127\.\d{1,3}\.\d{1,3}$")
LOOPBACK_NET_ENV = "REID_LOOPBACK_NET"


@dataclass(frozen=True)
class Host:
    """One row of the rack table."""

    name: str
    role: str
    local_ip: str
    compose_ip: str
    rack: str


@dataclass(frozen=True)
class RackTable:
    """The validated rack table: one or two NameNodes and at least one DataNode.

    The first NameNode row is the cluster's NameNode in the plain profiles; the HA profile runs
    every NameNode row (active and standby) with the journalnode and zookeeper rows beside them.
    """

    path: Path
    hosts: tuple[Host, ...]

    @property
    def namenode(self) -> Host:
        return next(h for h in self.hosts if h.role == "namenode")

    @property
    def namenodes(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role == "namenode")

    @property
    def journalnodes(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role == "journalnode")

    @property
    def zookeepers(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role == "zookeeper")

    @property
    def datanodes(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role == "datanode")

    @property
    def clients(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role == "client")

    def client_of_rack(self, rack: str) -> Host:
        """The client address that makes a process look like a host of ``rack``."""
        for host in self.clients:
            if host.rack == rack:
                return host
        raise TopologyError(f"{self.path} has no client row for rack {rack!r} "
                            f"(racks with clients: {sorted({h.rack for h in self.clients})})")

    @property
    def racks(self) -> dict[str, tuple[Host, ...]]:
        """DataNodes grouped by rack, racks in first-appearance order."""
        grouped: dict[str, list[Host]] = {}
        for host in self.datanodes:
            grouped.setdefault(host.rack, []).append(host)
        return {rack: tuple(hosts) for rack, hosts in grouped.items()}

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if name in (host.name, host.local_ip, host.compose_ip):
                return host
        known = ", ".join(h.name for h in self.hosts)
        raise TopologyError(f"{self.path}: no host named {name!r} (known: {known})")

    def rack_of(self, address: str) -> str:
        """The rack HDFS assigns to ``address`` (what topology.sh prints)."""
        for host in self.hosts:
            if address in (host.name, host.local_ip, host.compose_ip):
                return host.rack
        return DEFAULT_RACK


def load_rack_table(path: Path) -> RackTable:
    """Parse and validate ``racks.csv``; every problem names the file and line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise TopologyError(f"cannot read rack table {path}: {exc.strerror}") from exc
    rows = list(_data_rows(text))
    if not rows or tuple(rows[0][1]) != COLUMNS:
        raise TopologyError(f"{path}: the first non-comment line must be the header "
                            f"{','.join(COLUMNS)}")
    net = _loopback_net()
    hosts = tuple(_parse_row(path, line_no, row, net) for line_no, row in rows[1:])
    _check_table(path, hosts)
    return RackTable(path=path, hosts=hosts)


def _data_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    for line_no, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield line_no, next(csv.reader([line]))


def _loopback_net() -> str | None:
    """The /24 that ``REID_LOOPBACK_NET`` moves the local addresses to, or None."""
    net = os.environ.get(LOOPBACK_NET_ENV, "").strip()
    if not net:
        return None
    if not _NET_RE.match(net) or any(int(part) > 255 for part in net.split(".")):
        raise TopologyError(f"{LOOPBACK_NET_ENV}={net!r} must be the first three octets of a "
                            "loopback address, like 127.0.3")
    return net


def _parse_row(path: Path, line_no: int, row: list[str], net: str | None = None) -> Host:
    where = f"{path}:{line_no}"
    if len(row) != len(COLUMNS):
        raise TopologyError(f"{where}: expected {len(COLUMNS)} columns "
                            f"({','.join(COLUMNS)}), found {len(row)}")
    name, role, local_ip, compose_ip, rack = (cell.strip() for cell in row)
    if not _HOST_RE.match(name):
        raise TopologyError(f"{where}: host name {name!r} must be lower-case letters, digits, '-'")
    if role not in ROLES:
        raise TopologyError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
    for column, value in (("local_ip", local_ip), ("compose_ip", compose_ip)):
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise TopologyError(f"{where}: {column} {value!r} is not an IPv4 address") from None
    if not ipaddress.IPv4Address(local_ip).is_loopback:
        raise TopologyError(f"{where}: local_ip {local_ip} must be a loopback alias (127.x.y.z): "
                            "the local launcher runs every host on this machine")
    if net is not None:
        local_ip = f"{net}.{local_ip.rsplit('.', 1)[1]}"
    if not _RACK_RE.match(rack):
        raise TopologyError(f"{where}: rack {rack!r} must be one level like /rack1 "
                            "(HDFS needs every rack path at the same depth)")
    return Host(name=name, role=role, local_ip=local_ip, compose_ip=compose_ip, rack=rack)


def _check_table(path: Path, hosts: tuple[Host, ...]) -> None:
    namenodes = [h.name for h in hosts if h.role == "namenode"]
    if len(namenodes) not in (1, 2):
        raise TopologyError(f"{path}: needs one namenode row (two for the HA profile), found "
                            f"{len(namenodes)}")
    if not any(h.role == "datanode" for h in hosts):
        raise TopologyError(f"{path}: needs at least one datanode row")
    for column in ("name", "local_ip", "compose_ip"):
        seen: set[str] = set()
        for host in hosts:
            value = getattr(host, column)
            if value in seen:
                raise TopologyError(f"{path}: {column} {value} appears twice")
            seen.add(value)
