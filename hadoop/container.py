"""Entry point of the HDFS image: one daemon per container, and its health check.

Containers start NameNode and DataNodes through ``hadoop.jvm.java_command``, the command line
the local launcher uses, so both deployments run the same Hadoop with the same JVM options and
site files; only addresses differ (``REID_NAMENODE_HOST``, ``REID_HOST``, ``REID_DATA_DIR``, set
by ``docker-compose.yml``). Standard library only: the image carries Debian's python3, no venv.

The secure overlay (``docker-compose.secure.yml``, see hadoop.security.stack) adds the ``kdc``
role, which makes the realm, keytabs, keystores and secured conf dir and then runs the KDC;
``login``, the start of the jobs containers, which takes the service user's ticket first; and
in the daemons' containers HTTPS + SPNEGO health checks and, beside the NameNode, the base
directories owned by the service user.

    python3 -m hadoop.container namenode|datanode [--profile test]
    python3 -m hadoop.container kdc
    python3 -m hadoop.container login COMMAND...     (jobs image; secure overlay)
    python3 -m hadoop.container healthy namenode|datanode|spark-master|kdc   exit 0 when healthy
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from hadoop.cli import ArgumentParser, exit_process, run
from hadoop.cluster.jmx import NameNodeJmx, Opener, datanode_registered, plain_open
from hadoop.cluster.profiles import PROFILES, profile_flags
from hadoop.errors import ClusterError
from hadoop.jvm import hadoop_env, java_command
from hadoop.security import stack
from hadoop.security.names import compose_host_name
from hadoop.siteconf import CONF_DIR
from hadoop.topology import RackTable, load_rack_table

HEAP = {"namenode": "768m", "datanode": "320m"}
_HTTP_PORT = {"namenode": 9870, "datanode": 9864}
_HTTPS_PORT = {"namenode": 9871, "datanode": 9865}
# as in the local launcher: the daemons share the host's cores with the jobs they serve
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)


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


def run_daemon(role: str, profile: str, conf_dir: Path) -> int:
    data_dir = Path(_address("REID_DATA_DIR"))
    env = hadoop_env(conf_dir, stack.daemon_env() if stack.enabled() else None)
    if role == "namenode" and stack.enabled() and not stack.base_directories_made(data_dir):
        # beside the NameNode, a child waits for it to be healthy and makes /reid (the JVM
        # replaces this process; compose's init reaps the child)
        subprocess.Popen([sys.executable, "-m", "hadoop.container", "base-directories"])
    if role == "namenode":
        if not (data_dir / "dfs" / "name" / "current" / "VERSION").is_file():
            fmt = java_command("namenode", ["-format", "-force", "-nonInteractive",
                                            "-clusterid", "reid-hdfs"], conf_dir=conf_dir,
                               heap=HEAP[role], jvm_options=JVM_OPTIONS)
            subprocess.run(fmt, env=env, check=True)
        datanodes = len(load_rack_table(conf_dir / "racks.csv").datanodes)
        args = namenode_args(profile, datanodes)
    else:
        args = profile_flags(profile)
    cmd = java_command(role, args, conf_dir=conf_dir, heap=HEAP[role], jvm_options=JVM_OPTIONS)
    os.execve(cmd[0], cmd, env)


def healthy(role: str, conf_dir: Path) -> bool:
    """NameNode: out of safe mode with every DataNode of the rack table live (secure: and the
    base directories made). DataNode: registered with the NameNode and its first block report
    sent. Spark master: a worker registered beside every DataNode. KDC: its files written and
    answering."""
    if role == "kdc":
        return stack.kdc_ready()
    table = load_rack_table(conf_dir / "racks.csv")
    if role == "datanode":
        url, opener = daemon_web(table, role)
        return datanode_registered(url, opener=opener)
    if role == "spark-master":
        return _spark_workers_alive(f"http://{_address('REID_HOST')}:8080/json") >= len(
            table.datanodes)
    if stack.enabled() and not stack.base_directories_made(Path(_address("REID_DATA_DIR"))):
        return False
    return _namenode_serving(table, timeout=3.0)


def _namenode_serving(table: RackTable, timeout: float) -> bool:
    url, opener = daemon_web(table, "namenode")
    jmx = NameNodeJmx(url, timeout=timeout, opener=opener)
    try:
        live = jmx.live_datanode_ips()
        return not jmx.safe_mode() and {h.compose_ip for h in table.datanodes} <= live
    except (OSError, ValueError, KeyError):
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
    for role in ("namenode", "datanode"):
        daemon = sub.add_parser(role, help=f"run the {role} in the foreground")
        daemon.add_argument("--profile", choices=sorted(PROFILES), default="default")
    sub.add_parser("kdc", help="make the realm, keytabs, keystores and conf; run the KDC")
    sub.add_parser("base-directories", help="wait for the NameNode; make /reid as 'hdfs'")
    login = sub.add_parser("login", help="kinit the service user, then exec COMMAND")
    login.add_argument("exec", nargs=argparse.REMAINDER, metavar="COMMAND")
    check = sub.add_parser("healthy", help="exit 0 when the daemon is healthy")
    check.add_argument("role", choices=("namenode", "datanode", "spark-master", "kdc"))
    args = parser.parse_args(argv)
    conf_dir = Path(os.environ.get("HADOOP_CONF_DIR", CONF_DIR))
    if args.command == "healthy":
        return 0 if healthy(args.role, conf_dir) else 1
    if args.command == "kdc":
        kdc = stack.prepare_kdc(conf_dir, load_rack_table(conf_dir / "racks.csv"))
        os.execvpe(kdc.command()[0], kdc.command(), kdc.env)
    if args.command == "base-directories":
        return make_base_directories(conf_dir)
    if args.command == "login":
        if not args.exec:
            parser.error("login needs a COMMAND to run")
        stack.login(args.exec)
    return run_daemon(args.command, args.profile, conf_dir)


if __name__ == "__main__":
    exit_process(run(main))
