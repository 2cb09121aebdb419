"""Run a real HDFS cluster on one machine: Hadoop's own NameNode and DataNode daemons.

Each host of the rack table becomes one JVM bound to its own loopback alias. DataNodes use the
project's ``BindAddressSocketFactory`` so that the NameNode sees each at its own address (and the
topology script can place it on its rack); see hadoop/netbind. Daemons outlive the launcher,
like ``hadoop-daemon.sh`` ones: pid files and logs live under the run directory.
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
from hadoop.cluster.profiles import PROFILES, profile_flags
from hadoop.errors import (
    ClusterError,
    ClusterNotRunningError,
    DaemonStartError,
    NameNodeStorageError,
    PortInUseError,
    TopologyError,
)
from hadoop.jvm import hadoop_env, java_binary, java_command, require_plugin_class
from hadoop.security.profile import SecureProfile
from hadoop.siteconf import CONF_DIR, host_port, load_site
from hadoop.topology import Host, RackTable, load_rack_table

REPO_DIR = Path(__file__).resolve().parents[2]
DEFAULT_RUN_DIR = REPO_DIR / "run" / "cluster"
SOCKET_FACTORY = "org.reidhdfs.net.BindAddressSocketFactory"
_ADDRESS_KEYS = {
    "namenode": ("dfs.namenode.rpc-address", "dfs.namenode.http-address"),
    "datanode": ("dfs.datanode.address", "dfs.datanode.http.address", "dfs.datanode.ipc.address"),
}
_HEAP = {"namenode": "768m", "datanode": "320m"}
# Every daemon of the local cluster shares this host's cores with the clients it serves. C2's
# compile threads, in seven JVMs at once, burn more CPU than they save for daemons whose hot
# paths are system calls: with C1 only, a DataNode's CPU per range read is the same once warm,
# it spends far less compiling, and the cluster starts sooner (README, "The cluster").
_DAEMON_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)
_STOP_GRACE_S = 20.0


@dataclass(frozen=True)
class Daemon:
    """One host's daemon and its files under the run directory."""

    host: Host
    run_dir: Path

    @property
    def name(self) -> str:
        return self.host.name

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
        profile_flags(self.profile)  # validates the name before anything starts
        self.namenode = Daemon(self.table.namenode, self.run_dir)
        self.datanodes = tuple(Daemon(h, self.run_dir) for h in self.table.datanodes)
        self._site = load_site(self.conf_dir)  # as clients see it, from the caller's environment
        self._check_namenode_address()
        # The secure profile: KDC, keytabs, HTTPS, and its own conf dir (README, "Secure cluster")
        self.security = (SecureProfile(self.run_dir, self.conf_dir, self.table)
                         if self.profile == "secure" else None)
        self.daemon_conf_dir = self.security.conf_dir if self.security else self.conf_dir
        if self.security:
            self.jmx = NameNodeJmx(self.security.web_url(self.table.namenode, 9871),
                                   opener=self.security.admin_http())
        else:
            self.jmx = NameNodeJmx("http://" + self._site["dfs.namenode.http-address"])

    # ---- public operations -------------------------------------------------------------------

    @property
    def namenode_url(self) -> str:
        return self._site["fs.defaultFS"]

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
        return (self.namenode, *self.datanodes)

    def daemon(self, name: str) -> Daemon:
        host = self.table.host(name)
        for daemon in self.daemons:
            if daemon.host == host:
                return daemon
        raise TopologyError(f"{name} is a {host.role} address, not a daemon of the cluster")

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
        if self.namenode in missing:
            key = "dfs.block.replicator.classname"
            require_plugin_class(key, self._site.get(key, ""))
            self._prepare_namenode_storage()
        started: list[Daemon] = []
        try:
            self._record_state()
            if self.namenode in missing:
                started.append(self._spawn(self.namenode))
                self._wait_for_port(self.namenode, "dfs.namenode.rpc-address", timeout)
            for daemon in missing:
                if daemon is not self.namenode:
                    started.append(self._spawn(daemon))
            self.wait_until_healthy(timeout, watch=started)
            self._create_base_directories()
        except BaseException:
            self._stop(started, kill=False)
            if self.security and not any(d.pid() for d in self.daemons):
                self.security.stop()  # the KDC and host names too: nothing is left running
            raise
        return self.status()

    def down(self) -> list[str]:
        """Stop every daemon (DataNodes first) and any stray JVM of this run directory."""
        if self.client_rack() is not None:
            self.set_client_rack(None)
        stopped = self._stop([*self.datanodes, self.namenode], kill=False)
        for pid in _pids_with(f"-Dreidhdfs.daemon={self.run_dir}/"):
            os.kill(pid, signal.SIGKILL)
            stopped.append(f"stray pid {pid}")
        if self.security:
            stopped += self.security.stop()
        return stopped

    def status(self) -> ClusterStatus:
        nn_pid = self.namenode.pid()
        last_contact: dict[str, float] = {}  # live DataNodes' addresses as the NameNode lists them
        safe_mode: bool | None = None
        taken_at = time.time()
        if nn_pid is not None:
            try:
                last_contact = {address.rsplit(":", 1)[0]: float(info.get("lastContact", 0))
                                for address, info in self.jmx.live_datanodes().items()}
                safe_mode = self.jmx.safe_mode()
                taken_at = time.time()
            except OSError:
                last_contact = {}
        nodes = tuple(
            NodeState(name=d.name, address=d.host.local_ip, rack=d.host.rack, pid=d.pid(),
                      live=d.host.local_ip in last_contact,
                      last_contact_s=last_contact.get(d.host.local_ip))
            for d in self.datanodes)
        return ClusterStatus(namenode_url=self.namenode_url, web_ui=self.jmx.web_url,
                             profile=self.profile, namenode_pid=nn_pid, safe_mode=safe_mode,
                             nodes=nodes, client_rack=self.client_rack(),
                             heartbeat=self.heartbeat, taken_at=taken_at)

    def start(self, names: Iterable[str], timeout: float = 120.0) -> None:
        """(Re)start the named daemons and wait until the NameNode sees them live."""
        self._require_running()
        daemons = [self.daemon(n) for n in self.resolve(names)]
        missing = [d for d in daemons if d.pid() is None]
        self._check_ports_free(missing)
        for daemon in missing:
            self._spawn(daemon)
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
        nn = f"{self.table.namenode.local_ip}/32"
        if rack is None:
            if self.client_rack() is not None:
                _ip("route", "del", "local", nn, "dev", "lo", "table", "local")
            return
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
                if (expected <= self.jmx.live_datanode_ips() and not self.jmx.safe_mode()
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
        return PROFILES[self.profile].get(key) or self._site.get(key, default)

    def _env(self, daemon: Daemon) -> dict[str, str]:
        env = hadoop_env(self.daemon_conf_dir, {
            "REID_NAMENODE_HOST": self.table.namenode.local_ip,
            "REID_HOST": daemon.host.local_ip,
            "REID_DATA_DIR": str(daemon.data_dir),
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
        site = load_site(self.conf_dir, self._env(daemon))
        return [(key, *host_port(site[key])) for key in _ADDRESS_KEYS[daemon.host.role]]

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

    def _prepare_namenode_storage(self) -> None:
        """Format the NameNode on first use; refuse a name directory that is not usable."""
        name_dir = self.namenode.data_dir / "dfs" / "name"
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
            return
        self.namenode.home.mkdir(parents=True, exist_ok=True)
        cmd = java_command("namenode", ["-format", "-force", "-nonInteractive",
                                        "-clusterid", "reid-hdfs"],
                           conf_dir=self.daemon_conf_dir, heap=_HEAP["namenode"],
                           jvm_options=_DAEMON_JVM_OPTIONS, system_props=self._krb5_props())
        with self.namenode.log_file.open("ab") as log:
            done = subprocess.run(cmd, env=self._env(self.namenode), stdout=log,
                                  stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            raise DaemonStartError(f"formatting the NameNode failed; see {self.namenode.log_file}:"
                                   f"\n{self.namenode.log_tail()}")

    def _spawn(self, daemon: Daemon) -> Daemon:
        daemon.home.mkdir(parents=True, exist_ok=True)
        role = daemon.host.role
        args = profile_flags(self.profile)
        if role == "namenode":
            # Leave safe mode only once every DataNode has registered and had a moment to report
            # its blocks: earlier, blocks of late nodes look under-replicated, get copied, and
            # the excess copies are then deleted without regard to the placement policy.
            args += ["-D", f"dfs.namenode.safemode.min.datanodes={len(self.datanodes)}",
                     "-D", "dfs.namenode.safemode.extension=3000"]
        if role == "datanode":
            args += ["-D", f"hadoop.rpc.socket.factory.class.default={SOCKET_FACTORY}",
                     "-D", f"reidhdfs.net.bind-address={daemon.host.local_ip}"]
        cmd = java_command(role, args, conf_dir=self.daemon_conf_dir, heap=_HEAP[role],
                           jvm_options=_DAEMON_JVM_OPTIONS,
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

    def _wait_for_port(self, daemon: Daemon, key: str, timeout: float) -> None:
        host, port = host_port(load_site(self.conf_dir, self._env(daemon))[key])
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
        if self.namenode.pid() is None:
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
