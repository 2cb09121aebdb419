"""Run a real HDFS cluster on one machine: Hadoop's own NameNode and DataNode daemons.

Each host of the rack table becomes one JVM bound to its own loopback alias. DataNodes use the
project's ``BindAddressSocketFactory`` so that the NameNode sees each at its own address (and the
topology script can place it on its rack); see hadoop/netbind. Daemons outlive the launcher,
like ``hadoop-daemon.sh`` ones: pid files and logs live under the run directory.

The ``ha`` layer (profile ``ha`` or ``test+ha``) runs NameNode high availability the way a
company cluster does, from hadoop/conf/ha-site.xml: ZooKeeper, three JournalNodes, both
NameNode rows (the second bootstrapped from the first as its standby) and a failover controller
(ZKFC) beside each NameNode; clients address the nameservice ``hdfs://reid``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hadoop.cluster.jmx import NameNodeJmx, datanode_registered
from hadoop.cluster.profiles import parse_profile, profile_flags, profile_settings
from hadoop.errors import (
    ClusterError,
    ClusterNotRunningError,
    DaemonStartError,
    NameNodeStorageError,
    PortInUseError,
    TopologyError,
)
from hadoop.ha import (
    NAMESERVICE,
    ZKFC_PORT,
    ZOOKEEPER_PORT,
    namenode_id,
    namenode_id_flags,
    zookeeper_config,
)
from hadoop.jvm import (
    DAEMON_HEAP,
    DAEMON_JVM_OPTIONS,
    hadoop_env,
    java_binary,
    java_command,
    require_plugin_class,
)
from hadoop.security.profile import SecureProfile
from hadoop.siteconf import CONF_DIR, host_env, host_port, load_site
from hadoop.topology import Host, RackTable, load_rack_table

REPO_DIR = Path(__file__).resolve().parents[2]
DEFAULT_RUN_DIR = REPO_DIR / "run" / "cluster"
SOCKET_FACTORY = "org.reidhdfs.net.BindAddressSocketFactory"
_ADDRESS_KEYS = {
    "namenode": ("dfs.namenode.rpc-address", "dfs.namenode.http-address"),
    "datanode": ("dfs.datanode.address", "dfs.datanode.http.address", "dfs.datanode.ipc.address"),
    "journalnode": ("dfs.journalnode.rpc-address", "dfs.journalnode.http-address"),
}
_STOP_GRACE_S = 20.0


@dataclass(frozen=True)
class Daemon:
    """One host's daemon and its files under the run directory."""

    host: Host
    run_dir: Path
    kind: str = ""  # a second daemon on the host: "zkfc" beside a NameNode

    @property
    def name(self) -> str:
        return f"{self.host.name}-{self.kind}" if self.kind else self.host.name

    @property
    def role(self) -> str:
        return self.kind or self.host.role

    @property
    def home(self) -> Path:
        return self.run_dir / self.name

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def pid_file(self) -> Path:
        return self.home / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.home / f"{self.name}.log"

    @property
    def marker(self) -> str:
        """A JVM flag that identifies this daemon's process, even without its pid file."""
        return f"-Dreidhdfs.daemon={self.run_dir}/{self.name}"

    def pid(self) -> int | None:
        """The pid of this daemon's live JVM, or None (stale pid files are ignored)."""
        try:
            pid = int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        return pid if _cmdline_has(pid, self.marker) else None

    def log_tail(self, lines: int = 15) -> str:
        try:
            tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return "(no log)"
        return "\n".join("    " + line for line in tail)


@dataclass(frozen=True)
class NodeState:
    """One DataNode as the launcher sees its process and as the NameNode sees its heartbeats.

    The two differ after a kill: the NameNode keeps counting a silent DataNode live (and may
    still hand it new blocks) until its heartbeats are overdue, 10.5 minutes with HDFS's defaults.
    """

    name: str
    address: str
    rack: str
    pid: int | None
    live: bool  # listed live by the NameNode
    last_contact_s: float | None = None  # since the NameNode last heard from it (live nodes)

    @property
    def counted_live_while_gone(self) -> bool:
        return self.live and self.pid is None


@dataclass(frozen=True)
class HeartbeatTiming:
    """When the NameNode declares a silent DataNode dead: HDFS's heartbeatExpireInterval,
    2 x dfs.namenode.heartbeat.recheck-interval + 10 x dfs.heartbeat.interval."""

    recheck_s: float
    interval_s: float

    @property
    def expiry_s(self) -> float:
        return 2 * self.recheck_s + 10 * self.interval_s

    def explain(self) -> str:
        return (f"the NameNode declares a silent DataNode dead {self.expiry_s:.0f} s after its "
                f"last heartbeat (2 x dfs.namenode.heartbeat.recheck-interval "
                f"{self.recheck_s:g} s + 10 x dfs.heartbeat.interval {self.interval_s:g} s)")


@dataclass(frozen=True)
class NameNodeState:
    """One NameNode of the HA profile: its process and the HA state it reports."""

    name: str
    nn_id: str
    address: str
    rack: str
    pid: int | None
    state: str  # active | standby | ... as the NameNode says, or "down" / "not answering"


@dataclass(frozen=True)
class ClusterStatus:
    namenode_url: str
    web_ui: str
    profile: str
    namenode_pid: int | None
    safe_mode: bool | None
    nodes: tuple[NodeState, ...]
    client_rack: str | None
    heartbeat: HeartbeatTiming
    taken_at: float  # wall-clock time of the NameNode's answer (time.time())
    namenodes: tuple[NameNodeState, ...] = ()  # HA profile only
    services: tuple[tuple[str, int | None], ...] = ()  # HA: journalnodes, zookeeper, ZKFCs

    @property
    def active_namenode(self) -> NameNodeState | None:
        return next((nn for nn in self.namenodes if nn.state == "active"), None)

    @property
    def live_datanodes(self) -> int:
        """DataNodes that are live in both views: process running and listed by the NameNode."""
        return sum(node.live and node.pid is not None for node in self.nodes)

    def node_state(self, node: NodeState) -> str:
        if node.counted_live_while_gone:
            left = max(0.0, self.heartbeat.expiry_s - (node.last_contact_s or 0.0))
            until = time.strftime("%H:%M:%S %Z", time.localtime(self.taken_at + left))
            return f"process gone, NameNode still counts it live until {until} ({left:.0f} s)"
        if node.live:
            return "live"
        return "DOWN" if node.pid is None else "process running, not live at the NameNode"

    def render(self) -> str:
        state = "not running" if self.namenode_pid is None else f"pid {self.namenode_pid}"
        if self.namenodes:
            active = self.active_namenode
            lines = [f"NameNodes {self.namenode_url}  active: "
                     f"{active.name if active else 'NONE'}  web UI {self.web_ui}  "
                     f"(profile {self.profile})"]
            for nn in self.namenodes:
                pid = "no process" if nn.pid is None else f"pid {nn.pid}"
                state = nn.state.upper() if nn.state == "active" else nn.state
                lines.append(f"  {nn.nn_id} {nn.name} {nn.address} {nn.rack}  {state} ({pid})")
            lines.append("  " + "  ".join(f"{name} {'up' if pid else 'DOWN'}"
                                         for name, pid in self.services))
        else:
            lines = [f"NameNode  {self.namenode_url}  web UI {self.web_ui}  ({state}, "
                     f"profile {self.profile})"]
        racks: dict[str, list[NodeState]] = {}
        for node in self.nodes:
            racks.setdefault(node.rack, []).append(node)
        for rack, nodes in racks.items():
            cells = "  ".join(f"{n.name} {n.address} {self.node_state(n)}" for n in nodes)
            lines.append(f"{rack:<8}  {cells}")
        safe = {None: "unknown", True: "ON", False: "off"}[self.safe_mode]
        lines.append(f"{self.live_datanodes}/{len(self.nodes)} DataNodes live, safe mode {safe}, "
                     f"this host's clients on {self.client_rack or '/default-rack'}")
        if any(node.counted_live_while_gone for node in self.nodes):
            lines.append(f"note: {self.heartbeat.explain()}; re-replication of its blocks "
                         "starts after that")
        return "\n".join(lines)


class LocalCluster:
    """The docker-less cluster: ``up``, ``down``, ``status`` and per-daemon start/stop."""

    def __init__(self, run_dir: Path = DEFAULT_RUN_DIR, conf_dir: Path = CONF_DIR,
                 profile: str | None = None) -> None:
        self.run_dir = run_dir.resolve()
        self.conf_dir = conf_dir.resolve()
        self.table: RackTable = load_rack_table(self.conf_dir / "racks.csv")
        self.profile = profile or self._recorded_profile() or "default"
        self.layers = parse_profile(self.profile).layers  # validates the name before anything
        self.ha = parse_profile(self.profile).ha
        hosts = self.table.namenodes if self.ha else (self.table.namenode,)
        if self.ha and (len(hosts) != 2 or not self.table.journalnodes
                        or not self.table.zookeepers):
            raise TopologyError(f"{self.table.path}: the HA profile needs two namenode rows, "
                                "journalnode rows and a zookeeper row")
        self.namenodes = tuple(Daemon(h, self.run_dir) for h in hosts)
        self.namenode = self.namenodes[0]
        self.datanodes = tuple(Daemon(h, self.run_dir) for h in self.table.datanodes)
        ha_hosts = (self.table.journalnodes, self.table.zookeepers) if self.ha else ((), ())
        self.journalnodes = tuple(Daemon(h, self.run_dir) for h in ha_hosts[0])
        self.zookeepers = tuple(Daemon(h, self.run_dir) for h in ha_hosts[1])
        self.zkfcs = tuple(Daemon(h, self.run_dir, "zkfc") for h in hosts) if self.ha else ()
        # as clients see it, from the caller's environment
        self._site = load_site(self.conf_dir, layers=self.layers)
        self._check_namenode_address()
        # The secure profile: KDC, keytabs, HTTPS, and its own conf dir (README, "Secure cluster")
        self.security = (SecureProfile(self.run_dir, self.conf_dir, self.table)
                         if self.profile == "secure" else None)
        self.daemon_conf_dir = self.security.conf_dir if self.security else self.conf_dir
        self._secure_jmx = (NameNodeJmx(self.security.web_url(self.table.namenode, 9871),
                                        opener=self.security.admin_http())
                            if self.security else None)

    # ---- public operations -------------------------------------------------------------------

    @property
    def namenode_url(self) -> str:
        """``hdfs://host:port`` of the NameNode, or ``hdfs://reid`` (the nameservice) with HA."""
        return self._site["fs.defaultFS"]

    def nn_id(self, daemon: Daemon) -> str:
        """The NameNode's id in the nameservice (nn1, nn2: racks.csv's order)."""
        return namenode_id(self.namenodes.index(daemon))

    def namenode_web(self, daemon: Daemon) -> str:
        key = (f"dfs.namenode.http-address.{NAMESERVICE}.{self.nn_id(daemon)}" if self.ha
               else "dfs.namenode.http-address")
        return "http://" + self._site[key]

    def ha_state(self, daemon: Daemon, timeout: float = 2.0) -> str:
        """What the NameNode says it is (active, standby, ...), "down" without a process,
        "not answering" while it starts or hangs."""
        if daemon.pid() is None:
            return "down"
        try:
            return NameNodeJmx(self.namenode_web(daemon), timeout).ha_state()
        except (OSError, ValueError, KeyError):
            return "not answering"

    def active_namenode(self) -> Daemon | None:
        if not self.ha:
            return self.namenode if self.namenode.pid() is not None else None
        return next((nn for nn in self.namenodes if self.ha_state(nn) == "active"), None)

    @property
    def jmx(self) -> NameNodeJmx:
        """The JMX of the NameNode that serves clients: the active one with HA."""
        if self._secure_jmx is not None:
            return self._secure_jmx
        return NameNodeJmx(self.namenode_web(self.active_namenode() or self.namenode))

    @property
    def heartbeat(self) -> HeartbeatTiming:
        """The NameNode's heartbeat timing under this cluster's profile (Hadoop's defaults where
        neither the profile nor the site files set it: 300 s recheck, 3 s heartbeat)."""
        recheck_ms = self._setting("dfs.namenode.heartbeat.recheck-interval", "300000")
        interval = self._setting("dfs.heartbeat.interval", "3")
        return HeartbeatTiming(recheck_s=_duration_s(recheck_ms, "ms"),
                               interval_s=_duration_s(interval, "s"))

    @property
    def daemons(self) -> tuple[Daemon, ...]:
        """Every daemon of the profile, in start order."""
        return (*self.zookeepers, *self.journalnodes, *self.namenodes, *self.zkfcs,
                *self.datanodes)

    def daemon(self, name: str) -> Daemon:
        for daemon in self.daemons:
            if daemon.name == name:
                return daemon
        host = self.table.host(name)
        for daemon in self.daemons:
            if daemon.host == host and not daemon.kind:
                return daemon
        raise TopologyError(f"{name} is a {host.role} address, not a daemon of the cluster "
                            f"under profile {self.profile}")

    def resolve(self, names: Iterable[str]) -> list[str]:
        """Host names, addresses or rack paths (``/rack2``) -> daemon names, in table order."""
        wanted: set[str] = set()
        for name in names:
            rack = self.table.racks.get(name)
            if rack:
                wanted.update(h.name for h in rack)
            else:
                wanted.add(self.daemon(name).name)
        return [d.name for d in self.daemons if d.name in wanted]

    def up(self, timeout: float = 180.0) -> ClusterStatus:
        """Start whatever is not running, wait until every DataNode is live and safe mode is off.

        Idempotent: daemons already running are left alone. If anything fails, the daemons this
        call started are stopped again, so no half-started cluster is left behind.
        """
        self._check_profile_matches_running()
        java_binary()
        if self.security:
            self.security.prepare()
        missing = [d for d in self.daemons if d.pid() is None]
        self._check_ports_free(missing)
        if any(nn in missing for nn in self.namenodes):
            key = "dfs.block.replicator.classname"
            require_plugin_class(key, self._site.get(key, ""))
        started: list[Daemon] = []
        try:
            self._record_state()
            for daemon in (*self.zookeepers, *self.journalnodes):  # HA: the shared services
                if daemon in missing:
                    started.append(self._spawn(daemon))
            for daemon in (*self.zookeepers, *self.journalnodes):
                self._wait_for_port(daemon, timeout)
            for daemon in self.namenodes:  # the first is formatted, the second bootstrapped
                if daemon in missing:
                    self._prepare_namenode_storage(daemon)
                    started.append(self._spawn(daemon))
                    self._wait_for_port(daemon, timeout)
            if self.zkfcs:
                self._format_zookeeper()
            for daemon in self.zkfcs:  # the first NameNode's controller is elected first
                if daemon in missing:
                    started.append(self._spawn(daemon))
                    self._wait_for_active(timeout, watch=started)
            for daemon in self.datanodes:
                if daemon in missing:
                    started.append(self._spawn(daemon))
            self.wait_until_healthy(timeout, watch=started)
            self._create_base_directories()
        except BaseException:
            self._stop(started[::-1], kill=False)
            if self.security and not any(d.pid() for d in self.daemons):
                self.security.stop()  # the KDC and host names too: nothing is left running
            raise
        return self.status()

    def down(self) -> list[str]:
        """Stop every daemon (DataNodes first) and any stray JVM of this run directory."""
        if self.client_rack() is not None:
            self.set_client_rack(None)
        stopped = self._stop([*self.datanodes, *self.zkfcs, *self.namenodes,
                              *self.journalnodes, *self.zookeepers], kill=False)
        for pid in _pids_with(f"-Dreidhdfs.daemon={self.run_dir}/"):
            os.kill(pid, signal.SIGKILL)
            stopped.append(f"stray pid {pid}")
        if self.security:
            stopped += self.security.stop()
        return stopped

    def status(self) -> ClusterStatus:
        namenodes = tuple(
            NameNodeState(name=nn.name, nn_id=self.nn_id(nn), address=nn.host.local_ip,
                          rack=nn.host.rack, pid=nn.pid(), state=self.ha_state(nn))
            for nn in self.namenodes) if self.ha else ()
        serving = self.active_namenode() if self.ha else self.namenode
        nn_pid = serving.pid() if serving is not None else None
        last_contact: dict[str, float] = {}  # live DataNodes' addresses as the NameNode lists them
        safe_mode: bool | None = None
        taken_at = time.time()
        if nn_pid is not None:
            jmx = self._secure_jmx or NameNodeJmx(self.namenode_web(serving or self.namenode))
            try:
                last_contact = {address.rsplit(":", 1)[0]: float(info.get("lastContact", 0))
                                for address, info in jmx.live_datanodes().items()}
                safe_mode = jmx.safe_mode()
                taken_at = time.time()
            except OSError:
                last_contact = {}
        nodes = tuple(
            NodeState(name=d.name, address=d.host.local_ip, rack=d.host.rack, pid=d.pid(),
                      live=d.host.local_ip in last_contact,
                      last_contact_s=last_contact.get(d.host.local_ip))
            for d in self.datanodes)
        services = tuple((d.name, d.pid()) for d in (*self.journalnodes, *self.zookeepers,
                                                      *self.zkfcs))
        web_ui = (self._secure_jmx.web_url if self._secure_jmx
                  else self.namenode_web(serving or self.namenode))
        return ClusterStatus(namenode_url=self.namenode_url, web_ui=web_ui,
                             profile=self.profile, namenode_pid=nn_pid, safe_mode=safe_mode,
                             nodes=nodes, client_rack=self.client_rack(),
                             heartbeat=self.heartbeat, taken_at=taken_at,
                             namenodes=namenodes, services=services)

    def start(self, names: Iterable[str], timeout: float = 120.0) -> None:
        """(Re)start the named daemons and wait until the NameNode sees them live."""
        self._require_running()
        daemons = [self.daemon(n) for n in self.resolve(names)]
        missing = [d for d in daemons if d.pid() is None]
        self._check_ports_free(missing)
        for daemon in missing:
            self._spawn(daemon)
        for daemon in missing:
            if daemon.role != "datanode":
                self._wait_for_port(daemon, timeout)
        self.wait_until_healthy(timeout, watch=missing)

    def stop(self, names: Iterable[str], *, kill: bool = False) -> list[str]:
        """Stop the named daemons: SIGTERM (clean shutdown) or, with ``kill``, SIGKILL."""
        return self._stop([self.daemon(n) for n in self.resolve(names)], kill=kill)

    def client_rack(self) -> str | None:
        """The rack this host's HDFS clients appear on (None: /default-rack, off-cluster)."""
        shown = _ip("route", "show", "table", "local", f"{self.table.namenode.local_ip}/32")
        match = re.search(r"\bsrc (\S+)", shown)
        return self.table.rack_of(match.group(1)) if match else None

    def set_client_rack(self, rack: str | None) -> None:
        """Make HDFS clients on this host (not the daemons) appear at ``rack``'s client address.

        The NameNode orders replicas by the reader's rack, which it knows from the source
        address of the reader's connection. A route for the NameNode's address with that
        client address as preferred source does for every client on this host (hdfs-native,
        Spark, the hdfs tools) what running on a rack-``rack`` machine does; the DataNodes bind
        their own addresses and are unaffected. Needs root; ``None`` removes the route.
        """
        for namenode in self.namenodes:  # with HA: a route for each NameNode
            nn = f"{namenode.host.local_ip}/32"
            if rack is None:
                if "src" in _ip("route", "show", "table", "local", nn):
                    _ip("route", "del", "local", nn, "dev", "lo", "table", "local")
                continue
            client = self.table.client_of_rack(rack)
            _ip("route", "replace", "local", nn, "dev", "lo", "src", client.local_ip,
                "table", "local")

    def wait_until_healthy(self, timeout: float, watch: Iterable[Daemon] = ()) -> None:
        """Block until every DataNode with a live process is registered and safe mode is off."""
        watched = list(watch)
        deadline = time.monotonic() + timeout
        while True:
            for daemon in watched:
                if daemon.pid() is None:
                    raise DaemonStartError(
                        f"{daemon.name} exited while starting; last lines of "
                        f"{daemon.log_file}:\n{daemon.log_tail()}")
            expected = {d.host.local_ip for d in self.datanodes if d.pid() is not None}
            try:
                jmx = self.jmx
                if (expected <= jmx.live_datanode_ips() and not jmx.safe_mode()
                        and all(self._registered(d) for d in watched)):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                names = ", ".join(d.name for d in watched) or "the cluster"
                raise DaemonStartError(
                    f"{names} not ready after {timeout:.0f} s (DataNodes live: "
                    f"{self._safe_live_count()}/{len(expected)}); NameNode log "
                    f"{self.namenode.log_file}:\n{self.namenode.log_tail()}")
            time.sleep(0.5)

    # ---- internals ---------------------------------------------------------------------------

    def _setting(self, key: str, default: str) -> str:
        """A daemon setting as the daemons get it: the profile's -D flag over the site files."""
        return profile_settings(self.profile, self.conf_dir).get(key) or self._site.get(
            key, default)

    def _env(self, daemon: Daemon) -> dict[str, str]:
        env = hadoop_env(self.daemon_conf_dir, {
            **host_env(self.conf_dir),
            "REID_NAMENODE_HOST": self.table.namenode.local_ip,
            "REID_HOST": daemon.host.local_ip,
            "REID_DATA_DIR": str(daemon.data_dir),
            "REID_RUN_DIR": str(self.run_dir),  # where fence-namenode.sh finds NameNodes
            **(self.security.daemon_env(daemon.host) if self.security else {}),
        })
        env.pop("HADOOP_USER_NAME", None)  # the launching user is the HDFS superuser
        return env

    def _check_namenode_address(self) -> None:
        host, _ = host_port(self._site["dfs.namenode.rpc-address"])
        if host != self.table.namenode.local_ip:
            raise TopologyError(
                f"{self.table.path} puts the namenode at {self.table.namenode.local_ip} but "
                f"hdfs-site.xml's dfs.namenode.rpc-address resolves to {host}; set "
                f"REID_NAMENODE_HOST={self.table.namenode.local_ip} or fix the rack table")

    def _addresses(self, daemon: Daemon) -> list[tuple[str, str, int]]:
        """(setting, host, port) of every socket the daemon listens on, rpc first."""
        if daemon.role == "zookeeper":
            return [("clientPort", daemon.host.local_ip, ZOOKEEPER_PORT)]
        if daemon.role == "zkfc":
            return [("dfs.ha.zkfc.port", daemon.host.local_ip, ZKFC_PORT)]
        site = load_site(self.conf_dir, self._env(daemon), self.layers)
        keys = _ADDRESS_KEYS[daemon.role]
        if daemon.role == "namenode" and self.ha:
            keys = tuple(f"{key}.{NAMESERVICE}.{self.nn_id(daemon)}" for key in keys)
        return [(key, *host_port(site[key])) for key in keys]

    def _check_ports_free(self, daemons: Iterable[Daemon]) -> None:
        for daemon in daemons:
            for key, host, port in self._addresses(daemon):
                probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((host, port))
                except OSError as exc:
                    raise PortInUseError(
                        f"{daemon.name} cannot start: {host}:{port} ({key}) is in use "
                        f"({exc.strerror}); stop whatever listens there "
                        f"(`ss -ltnp 'sport = :{port}'`) or run `python -m hadoop.cluster down`"
                    ) from None
                finally:
                    probe.close()

    def _prepare_namenode_storage(self, daemon: Daemon) -> None:
        """Format the NameNode on first use; refuse a name directory that is not usable.

        With HA the first NameNode is formatted (which formats the journals too), the second
        copies its namespace (``-bootstrapStandby``, the first must be running), and a first
        NameNode formatted earlier without HA has its edits copied into the new journals
        (``-initializeSharedEdits``)."""
        name_dir = daemon.data_dir / "dfs" / "name"
        current = name_dir / "current"
        if current.is_dir():
            version = current / "VERSION"
            images = list(current.glob("fsimage_*[0-9]"))
            if not version.is_file() or "namespaceID=" not in version.read_text(errors="replace"):
                raise NameNodeStorageError(
                    f"NameNode storage {name_dir} is corrupt: {version} is missing or unreadable. "
                    f"Restore it from a backup, or delete {self.run_dir} to start an empty "
                    "cluster (all HDFS data is lost)")
            if not images:
                raise NameNodeStorageError(
                    f"NameNode storage {name_dir} is corrupt: no fsimage in {current}. Restore "
                    f"it from a backup, or delete {self.run_dir} to start an empty cluster")
            if self.ha and daemon is self.namenode and not self._journals_formatted():
                self._run_tool(daemon, "namenode", ["-initializeSharedEdits", "-force",
                                                    "-nonInteractive"], "copying the edits of "
                               f"{daemon.name} into the JournalNodes")
            return
        if daemon is self.namenode:
            self._run_tool(daemon, "namenode", ["-format", "-force", "-nonInteractive",
                                                "-clusterid", "reid-hdfs"],
                           f"formatting the NameNode {daemon.name}")
            for zookeeper in self.zookeepers:  # a new namespace needs a new election
                (zookeeper.home / "formatted").unlink(missing_ok=True)
        else:
            self._run_tool(daemon, "namenode", ["-bootstrapStandby", "-force",
                                                "-nonInteractive"],
                           f"bootstrapping the standby NameNode {daemon.name} from "
                           f"{self.namenode.name}")

    def _journals_formatted(self) -> bool:
        return all((jn.data_dir / "dfs" / "journal" / NAMESERVICE / "current" / "VERSION")
                   .is_file() for jn in self.journalnodes)

    def _format_zookeeper(self) -> None:
        """Create the nameservice's election znode once per ZooKeeper data directory."""
        stamp = self.zookeepers[0].home / "formatted"
        if stamp.is_file():
            return
        self._run_tool(self.zkfcs[0], "zkfc", ["-formatZK", "-force", "-nonInteractive"],
                       "creating the failover controllers' znode in ZooKeeper")
        stamp.write_text("ok\n")

    def _run_tool(self, daemon: Daemon, main: str, args: list[str], what: str) -> None:
        """A one-shot Hadoop command with ``daemon``'s settings, logged to its log file."""
        daemon.home.mkdir(parents=True, exist_ok=True)
        cmd = java_command(main, [*self._daemon_args(daemon), *args],
                           conf_dir=self.daemon_conf_dir, heap=DAEMON_HEAP[daemon.role],
                           jvm_options=DAEMON_JVM_OPTIONS, system_props=self._krb5_props())
        with daemon.log_file.open("ab") as log:
            done = subprocess.run(cmd, env=self._env(daemon), stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  check=False, timeout=300)
        if done.returncode != 0:
            raise DaemonStartError(f"{what} failed (exit {done.returncode}); see "
                                   f"{daemon.log_file}:\n{daemon.log_tail()}")

    def _daemon_args(self, daemon: Daemon) -> list[str]:
        """Generic options (``-D``) of a daemon: the profile, then what is this daemon's own."""
        role = daemon.role
        args = profile_flags(self.profile, self.conf_dir)
        if role in ("namenode", "zkfc") and self.ha:
            # Both NameNode addresses are local here, so each says which one it is.
            args += namenode_id_flags(self.nn_id(self.daemon(daemon.host.name)))
        if role == "namenode":
            # Leave safe mode only once every DataNode has registered and had a moment to report
            # its blocks: earlier, blocks of late nodes look under-replicated, get copied, and
            # the excess copies are then deleted without regard to the placement policy.
            args += ["-D", f"dfs.namenode.safemode.min.datanodes={len(self.datanodes)}",
                     "-D", "dfs.namenode.safemode.extension=3000"]
        if role == "datanode":
            args += ["-D", f"hadoop.rpc.socket.factory.class.default={SOCKET_FACTORY}",
                     "-D", f"reidhdfs.net.bind-address={daemon.host.local_ip}"]
        return args

    def _zookeeper_config(self, daemon: Daemon) -> Path:
        """A standalone ZooKeeper on its own loopback address."""
        config = daemon.home / "zoo.cfg"
        (daemon.data_dir).mkdir(parents=True, exist_ok=True)
        config.write_text(zookeeper_config(daemon.data_dir, daemon.host.local_ip))
        return config

    def _spawn(self, daemon: Daemon) -> Daemon:
        daemon.home.mkdir(parents=True, exist_ok=True)
        role = daemon.role
        args = ([str(self._zookeeper_config(daemon))] if role == "zookeeper"
                else self._daemon_args(daemon))
        cmd = java_command(role, args, conf_dir=self.daemon_conf_dir, heap=DAEMON_HEAP[role],
                           jvm_options=DAEMON_JVM_OPTIONS,
                           system_props={"reidhdfs.daemon": f"{self.run_dir}/{daemon.name}",
                                         **self._krb5_props()})
        with daemon.log_file.open("ab") as log:
            proc = subprocess.Popen(cmd, env=self._env(daemon), stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=daemon.home)
        tmp = daemon.pid_file.with_suffix(".pid.tmp")
        tmp.write_text(str(proc.pid))
        tmp.replace(daemon.pid_file)
        deadline = time.monotonic() + 30  # until exec() has replaced the forked interpreter
        while not _cmdline_has(proc.pid, daemon.marker) and proc.poll() is None:
            if time.monotonic() > deadline:
                raise DaemonStartError(f"{daemon.name} (pid {proc.pid}) did not exec java")
            time.sleep(0.02)
        return daemon

    def _wait_for_active(self, timeout: float, watch: Iterable[Daemon]) -> Daemon:
        """Block until one NameNode reports itself active (the ZKFCs elected it)."""
        deadline = time.monotonic() + timeout
        watched = [d for d in watch if d.role in ("namenode", "zkfc")]
        while (active := self.active_namenode()) is None:
            for daemon in watched:
                if daemon.pid() is None:
                    raise DaemonStartError(f"{daemon.name} exited while the NameNodes elected "
                                           f"an active one; last lines of {daemon.log_file}:"
                                           f"\n{daemon.log_tail()}")
            if time.monotonic() > deadline:
                raise DaemonStartError(
                    f"no NameNode became active within {timeout:.0f} s; see "
                    f"{self.zkfcs[0].log_file}:\n{self.zkfcs[0].log_tail()}")
            time.sleep(0.3)
        return active

    def _wait_for_port(self, daemon: Daemon, timeout: float) -> None:
        _, host, port = self._addresses(daemon)[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if daemon.pid() is None:
                raise DaemonStartError(f"{daemon.name} exited while starting; last lines of "
                                       f"{daemon.log_file}:\n{daemon.log_tail()}")
            try:
                socket.create_connection((host, port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.3)
        raise DaemonStartError(f"{daemon.name} did not open {host}:{port} within {timeout:.0f} s;"
                               f" see {daemon.log_file}:\n{daemon.log_tail()}")

    def _stop(self, daemons: Iterable[Daemon], *, kill: bool) -> list[str]:
        running = [(d, pid) for d in daemons if (pid := d.pid()) is not None]
        for _, pid in running:
            os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_S
        for daemon, pid in running:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
                while _alive(pid):
                    time.sleep(0.1)
            daemon.pid_file.unlink(missing_ok=True)
        return [d.name for d, _ in running]

    def _create_base_directories(self) -> None:
        """HDFS permissions are on: shared /tmp, the datasets' root /reid (owner and group
        only: frames are biometric data), the user's home. In the secure profile they belong
        to the service user ``reid`` and its group, made as the superuser (the NameNode's
        principal)."""
        from hadoop.fs import HdfsFS

        if self.security:
            from hadoop.security.names import SERVICE_GROUP, SERVICE_USER

            fs = HdfsFS(self.namenode_url, client_factory=self.security.admin_client_factory())
            owner: tuple[str, str] | None = (SERVICE_USER, SERVICE_GROUP)
            user = SERVICE_USER
        else:
            fs = HdfsFS(self.namenode_url)
            owner = None
            user = os.environ.get("HADOOP_USER_NAME") or os.environ.get("USER") or "root"
        fs.mkdirs("/tmp", permission=0o1777)
        fs.set_permission("/tmp", 0o1777)  # the sticky bit is not applied by mkdirs
        fs.mkdirs("/user", permission=0o755)
        for path in ("/reid", f"/user/{user}"):
            fs.mkdirs(path, permission=0o750)
            fs.set_permission(path, 0o750)
            if owner:
                fs.set_owner(path, *owner)

    def _record_state(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        state = {"profile": self.profile, "conf_dir": str(self.conf_dir),
                 "namenode": self.namenode_url}
        tmp = self.run_dir / "cluster.json.tmp"
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.run_dir / "cluster.json")

    def _recorded_profile(self) -> str | None:
        try:
            return str(json.loads((self.run_dir / "cluster.json").read_text())["profile"])
        except (OSError, ValueError, KeyError):
            return None

    def _check_profile_matches_running(self) -> None:
        recorded = self._recorded_profile()
        if recorded and recorded != self.profile and any(d.pid() for d in self.daemons):
            raise ClusterNotRunningError(
                f"the cluster in {self.run_dir} is running with profile {recorded!r}; run "
                f"`python -m hadoop.cluster down` before starting it with {self.profile!r}")

    def _require_running(self) -> None:
        if all(nn.pid() is None for nn in self.namenodes):
            raise ClusterNotRunningError(
                f"no NameNode is running under {self.run_dir}; start it with "
                "`python -m hadoop.cluster up`")

    def _registered(self, daemon: Daemon) -> bool:
        if daemon.host.role != "datanode":
            return True
        if self.security:
            return datanode_registered(self.security.web_url(daemon.host, 9865),
                                       opener=self.jmx.opener)
        site = load_site(self.conf_dir, self._env(daemon))
        return datanode_registered("http://" + site["dfs.datanode.http.address"])

    def _krb5_props(self) -> dict[str, str]:
        """Java reads no KRB5_CONFIG: daemons of the secure profile get the realm's file."""
        if self.security is None:
            return {}
        return {"java.security.krb5.conf": str(self.security.kdc.krb5_conf)}

    def _safe_live_count(self) -> str:
        try:
            return str(len(self.jmx.live_datanode_ips()))
        except OSError:
            return "?"


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _duration_s(value: str, unit: str) -> float:
    """A Hadoop time setting in seconds; ``unit`` applies when the value has no suffix of its
    own (Configuration.getTimeDuration accepts ``3``, ``3s``, ``3000ms``)."""
    match = _DURATION_RE.fullmatch(value.strip())
    if not match:
        raise ClusterError(f"cannot read the time setting {value!r}: expected a number with an "
                           "optional unit (ms, s, m, h, d)")
    return float(match.group(1)) * _UNIT_S[match.group(2) or unit]


def _ip(*args: str) -> str:
    """Run iproute2's ``ip``; failures become ClusterError naming the command."""
    if shutil.which("ip") is None:
        raise ClusterError("the `ip` command (Debian package iproute2) is needed for client racks")
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        hint = " (needs root)" if os.geteuid() != 0 else ""
        raise ClusterError(f"`ip {' '.join(args)}` failed{hint}: {done.stderr.strip()}")
    return done.stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of this process counts as gone once reaped
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def _cmdline_has(pid: int, marker: str) -> bool:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return marker.encode() in args


def _pids_with(prefix: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(arg.startswith(prefix.encode()) for arg in args):
                found.append(int(entry.name))
    return found
