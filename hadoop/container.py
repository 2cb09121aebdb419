"""Entry point of the HDFS image: one daemon per container, and its health check.

Containers start their daemons through ``hadoop.jvm.java_command``, the command line the local
launcher uses, so both deployments run the same Hadoop with the same JVM options and site files;
only addresses differ (``REID_NAMENODE_HOST``, ``REID_HOST``, ``REID_DATA_DIR`` and, with HA,
``REID_NAMENODE2_HOST``, ``REID_JOURNALNODE<i>_HOST``, ``REID_ZOOKEEPER_HOST``, set by
docker-compose.yml and docker-compose.ha.yml). Standard library only: the image carries
Debian's python3, no venv.

The secure overlay (``docker-compose.secure.yml``, see hadoop.security.stack) adds the ``kdc``
role, which makes the realm, keytabs, keystores and secured conf dir and then runs the KDC;
``login``, the start of the jobs containers, which takes the service user's ticket first; and
in the daemons' containers HTTPS + SPNEGO health checks and, beside the NameNode, the base
directories owned by the service user.

Under a profile with the ``ha`` layer (``--profile test+ha``, docker-compose.ha.yml), a
NameNode container runs its failover controller (ZKFC) as a second process: the controller
watches its NameNode through local RPC and must die and come back with it, as on a real host
(a ZKFC container sharing the NameNode's network namespace would lose its network when the
NameNode's container is killed, and stay in the dead namespace after ``docker compose start``).

    python3 -m hadoop.container namenode|datanode|journalnode|zookeeper [--profile test+ha]
    python3 -m hadoop.container kdc
    python3 -m hadoop.container login COMMAND...     (jobs image; secure overlay)
    python3 -m hadoop.container healthy ROLE [--ha]   exit 0 when healthy
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType

from hadoop.cli import ArgumentParser, exit_process, run
from hadoop.cluster.jmx import NameNodeJmx, Opener, datanode_registered, plain_open
from hadoop.cluster.profiles import PROFILES, parse_profile, profile_flags
from hadoop.errors import ClusterError
from hadoop.ha import (
    NAMESERVICE,
    ZKFC_PORT,
    ZOOKEEPER_PORT,
    namenode_id,
    namenode_id_flags,
    zookeeper_config,
)
from hadoop.jvm import DAEMON_HEAP, DAEMON_JVM_OPTIONS, hadoop_env, java_command
from hadoop.security import stack
from hadoop.security.names import compose_host_name
from hadoop.siteconf import CONF_DIR, LAYERS, load_site
from hadoop.topology import RackTable, load_rack_table

ROLES = ("namenode", "datanode", "journalnode", "zookeeper")
_HTTP_PORT = {"namenode": 9870, "datanode": 9864}
_HTTPS_PORT = {"namenode": 9871, "datanode": 9865}
# How the compose ZKFCs fence, over ha-site.xml's local settings:
# - containers cannot SIGKILL each other's processes (the local profile's fence-namenode.sh),
#   so the fence is a no-op: safe with the quorum journal, whose JournalNodes refuse every
#   write of a deposed active NameNode (its epoch is older than the new active's);
# - before fencing, the ZKFC taking over asks the old active to step down ("graceful fence").
#   A killed container's address drops connections instead of refusing them, so each try
#   waits out ipc.client.connect.timeout (20 s, two tries by default: 38 s of a measured 44 s
#   failover); one try of 3 s is enough to find a live old active.
ZKFC_FLAGS = ("-D", "dfs.ha.fencing.methods=shell(/bin/true)",
              "-D", "ha.failover-controller.graceful-fence.connection.retries=0",
              "-D", "ipc.client.connect.timeout=3000")


def _address(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise ClusterError(f"{variable} is not set (docker-compose.yml sets it per service)")
    return value


def namenode_args(profile: str, datanodes: int) -> list[str]:
    """The NameNode leaves safe mode only once every DataNode of the rack table has registered
    (as the launcher does): earlier, late nodes' blocks would look under-replicated."""
    return [*profile_flags(profile), "-D", f"dfs.namenode.safemode.min.datanodes={datanodes}",
            "-D", "dfs.namenode.safemode.extension=3000"]


def _command(role: str, args: list[str], conf_dir: Path) -> list[str]:
    return java_command(role, args, conf_dir=conf_dir, heap=DAEMON_HEAP[role],
                        jvm_options=DAEMON_JVM_OPTIONS)


def _formatted(data_dir: Path) -> bool:
    return (data_dir / "dfs" / "name" / "current" / "VERSION").is_file()


def run_daemon(role: str, profile: str, conf_dir: Path) -> int:
    data_dir = Path(_address("REID_DATA_DIR"))
    env = hadoop_env(conf_dir, stack.daemon_env() if stack.enabled() else None)
    table = load_rack_table(conf_dir / "racks.csv")
    if role == "namenode" and stack.enabled() and not stack.base_directories_made(data_dir):
        # beside the NameNode, a child waits for it to be healthy and makes /reid (the JVM
        # replaces this process; compose's init reaps the child)
        subprocess.Popen([sys.executable, "-m", "hadoop.container", "base-directories"])
    if role == "namenode" and parse_profile(profile).ha:
        return run_ha_namenode(table, profile, conf_dir, data_dir)
    if role == "namenode":
        if not _formatted(data_dir):
            subprocess.run(_command(role, ["-format", "-force", "-nonInteractive",
                                           "-clusterid", "reid-hdfs"], conf_dir),
                           env=env, check=True)
        args = namenode_args(profile, len(table.datanodes))
    elif role == "zookeeper":
        config = data_dir / "zoo.cfg"
        config.write_text(zookeeper_config(data_dir / "zookeeper", _address("REID_HOST")))
        args = [str(config)]
    else:
        args = profile_flags(profile)
    cmd = _command(role, args, conf_dir)
    os.execve(cmd[0], cmd, env)


def run_ha_namenode(table: RackTable, profile: str, conf_dir: Path, data_dir: Path) -> int:
    """One NameNode of the nameservice and its ZKFC, until either exits.

    Its storage is prepared on first start only (an empty volume): the first namenode row of
    racks.csv formats the namespace and its JournalNodes (without ``-force``: Hadoop refuses if
    the journals already hold a namespace, rather than wiping it) and creates the election
    znode in ZooKeeper; the second copies the namespace from the first (``-bootstrapStandby``,
    so compose starts it once the first is healthy)."""
    host = _address("REID_HOST")
    index = next((i for i, nn in enumerate(table.namenodes)
                  if host in (nn.compose_ip, nn.local_ip)), None)
    if index is None:
        raise ClusterError(f"REID_HOST={host} is no namenode row of {conf_dir / 'racks.csv'}")
    own = namenode_id_flags(namenode_id(index))
    nn_args = [*namenode_args(profile, len(table.datanodes)), *own]
    zkfc_args = [*profile_flags(profile), *own, *ZKFC_FLAGS]
    env = hadoop_env(conf_dir)
    if not _formatted(data_dir):
        steps = ([("namenode", [*nn_args, "-format", "-nonInteractive", "-clusterid",
                                "reid-hdfs"]),
                  ("zkfc", [*zkfc_args, "-formatZK", "-force", "-nonInteractive"])]
                 if index == 0 else
                 [("namenode", [*nn_args, "-bootstrapStandby", "-force", "-nonInteractive"])])
        for role, args in steps:
            subprocess.run(_command(role, args, conf_dir), env=env, check=True,
                           stdin=subprocess.DEVNULL)
    return _supervise({"namenode": _command("namenode", nn_args, conf_dir),
                       "zkfc": _command("zkfc", zkfc_args, conf_dir)}, env)


def _supervise(commands: dict[str, list[str]], env: dict[str, str]) -> int:
    """Run the commands until one exits, then stop the others and exit with its status, so the
    container ends as a host would. SIGTERM (``docker compose stop``) stops them all."""
    procs = {name: subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)
             for name, cmd in commands.items()}

    def stop(signum: int, _frame: FrameType | None) -> None:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        for name, proc in procs.items():
            code = proc.poll()
            if code is not None:
                print(f"hadoop.container: {name} exited with status {code}; stopping the others",
                      file=sys.stderr, flush=True)
                stop(signal.SIGTERM, None)
                for other in procs.values():
                    other.wait()
                return code
        time.sleep(0.5)


def healthy(role: str, conf_dir: Path, ha: bool = False) -> bool:
    """NameNode: out of safe mode with every DataNode of the rack table live (secure: and the
    base directories made); with ``ha``, in the active or standby state with its ZKFC
    listening, and the nameservice's active NameNode (this one or the other) out of safe mode
    with every DataNode live. DataNode: registered with the NameNode and its first block report
    sent. JournalNode: its web server answers. ZooKeeper: ``ruok`` answered ``imok``. Spark
    master: a worker beside every DataNode. KDC: its files written and answering."""
    if role == "kdc":
        return stack.kdc_ready()
    host = _address("REID_HOST")
    if role == "journalnode":
        return _http_ok(f"http://{host}:8480/jmx?qry=java.lang:type=Runtime")
    if role == "zookeeper":
        return _zookeeper_ok(host)
    table = load_rack_table(conf_dir / "racks.csv")
    if role == "datanode":
        url, opener = daemon_web(table, role)
        return datanode_registered(url, opener=opener)
    if role == "spark-master":
        return _spark_workers_alive(f"http://{host}:8080/json") >= len(table.datanodes)
    if stack.enabled() and not stack.base_directories_made(Path(_address("REID_DATA_DIR"))):
        return False
    if not ha:
        return _namenode_serving(table, timeout=3.0)
    datanodes = {h.compose_ip for h in table.datanodes}
    try:
        if NameNodeJmx(f"http://{host}:9870", 3.0).ha_state() not in ("active", "standby"):
            return False
        socket.create_connection((host, ZKFC_PORT), timeout=3.0).close()
    except (OSError, ValueError, KeyError):
        return False
    site = load_site(conf_dir, layers=LAYERS)
    for nn in site[f"dfs.ha.namenodes.{NAMESERVICE}"].split(","):
        jmx = NameNodeJmx("http://" + site[f"dfs.namenode.http-address.{NAMESERVICE}.{nn}"],
                          3.0)
        try:
            if jmx.ha_state() == "active":
                return _serving(jmx, datanodes)
        except (OSError, ValueError, KeyError):
            continue
    return False


def _namenode_serving(table: RackTable, timeout: float) -> bool:
    """The configured NameNode (plain or secure overlay) out of safe mode, every DataNode live."""
    url, opener = daemon_web(table, "namenode")
    return _serving(NameNodeJmx(url, timeout=timeout, opener=opener),
                    {h.compose_ip for h in table.datanodes})


def _serving(jmx: NameNodeJmx, datanodes: set[str]) -> bool:
    try:
        return not jmx.safe_mode() and datanodes <= jmx.live_datanode_ips()
    except (OSError, ValueError, KeyError):
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3.0) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _zookeeper_ok(host: str) -> bool:
    try:
        with socket.create_connection((host, ZOOKEEPER_PORT), timeout=3.0) as conn:
            conn.sendall(b"ruok")
            return conn.recv(16) == b"imok"
    except OSError:
        return False


def daemon_web(table: RackTable, role: str) -> tuple[str, Opener]:
    """A daemon's own web endpoint and how to open it: plain HTTP, or in the secure overlay
    HTTPS by host name with SPNEGO as the daemon's own principal."""
    address = _address("REID_NAMENODE_HOST" if role == "namenode" else "REID_HOST")
    if not stack.enabled():
        return f"http://{address}:{_HTTP_PORT[role]}", plain_open
    host = next((h for h in (table.namenode, *table.datanodes) if h.compose_ip == address), None)
    if host is None:
        raise ClusterError(f"{address} is no HDFS host of {table.path}: no principal to check as")
    return f"https://{compose_host_name(host)}:{_HTTPS_PORT[role]}", stack.admin_http(host)


def make_base_directories(conf_dir: Path, timeout: float = 900.0) -> int:
    """Wait (at most ``timeout`` s) for the NameNode to serve, then make the base directories."""
    table = load_rack_table(conf_dir / "racks.csv")
    deadline = time.monotonic() + timeout
    while not _namenode_serving(table, timeout=3.0):
        if time.monotonic() > deadline:
            raise ClusterError(f"the NameNode did not leave safe mode with every DataNode live "
                               f"within {timeout:.0f} s: base directories not made")
        time.sleep(3.0)
    stack.make_base_directories(table, conf_dir, Path(_address("REID_DATA_DIR")))
    return 0


def _spark_workers_alive(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3.0) as response:
            return int(json.load(response).get("aliveworkers", 0))
    except (OSError, ValueError):
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python3 -m hadoop.container", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for role in ROLES:
        daemon = sub.add_parser(role, help=f"run the {role} in the foreground")
        daemon.add_argument("--profile", default="default",
                            help=f"{', '.join(PROFILES)}, joined with '+ha' for the HA layer")
    sub.add_parser("kdc", help="make the realm, keytabs, keystores and conf; run the KDC")
    sub.add_parser("base-directories", help="wait for the NameNode; make /reid as 'hdfs'")
    login = sub.add_parser("login", help="kinit the service user, then exec COMMAND")
    login.add_argument("exec", nargs=argparse.REMAINDER, metavar="COMMAND")
    check = sub.add_parser("healthy", help="exit 0 when the daemon is healthy")
    check.add_argument("role", choices=(*ROLES, "spark-master", "kdc"))
    check.add_argument("--ha", action="store_true", help="a NameNode of the HA nameservice")
    args = parser.parse_args(argv)
    conf_dir = Path(os.environ.get("HADOOP_CONF_DIR", CONF_DIR))
    if args.command == "healthy":
        return 0 if healthy(args.role, conf_dir, args.ha) else 1
    if args.command == "kdc":
        kdc = stack.prepare_kdc(conf_dir, load_rack_table(conf_dir / "racks.csv"))
        os.execvpe(kdc.command()[0], kdc.command(), kdc.env)
    if args.command == "base-directories":
        return make_base_directories(conf_dir)
    if args.command == "login":
        if not args.exec:
            parser.error("login needs a COMMAND to run")
        stack.login(args.exec)
    try:
        parse_profile(args.profile)
    except ValueError as exc:
        parser.error(str(exc))
    return run_daemon(args.command, args.profile, conf_dir)


if __name__ == "__main__":
    exit_process(run(main))
