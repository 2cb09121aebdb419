"""Entry point of the HDFS image: one daemon per container, and its health check.

Containers start NameNode and DataNodes through ``hadoop.jvm.java_command``, the command line
the local launcher uses, so both deployments run the same Hadoop with the same JVM options and
site files; only addresses differ (``REID_NAMENODE_HOST``, ``REID_HOST``, ``REID_DATA_DIR``, set
by ``docker-compose.yml``). Standard library only: the image carries Debian's python3, no venv.

    python3 -m hadoop.container namenode|datanode [--profile test]
    python3 -m hadoop.container healthy namenode|datanode|spark-master   exit 0 when healthy
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import urllib.request
from pathlib import Path

from hadoop.cli import ArgumentParser, exit_process, run
from hadoop.cluster.jmx import NameNodeJmx, datanode_registered
from hadoop.cluster.profiles import PROFILES, profile_flags
from hadoop.errors import ClusterError
from hadoop.jvm import hadoop_env, java_command
from hadoop.siteconf import CONF_DIR
from hadoop.topology import load_rack_table

HEAP = {"namenode": "768m", "datanode": "320m"}
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
    env = hadoop_env(conf_dir)
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
    """NameNode: out of safe mode with every DataNode of the rack table live. DataNode:
    registered with the NameNode and its first block report sent. Spark master: a worker
    registered beside every DataNode."""
    if role == "datanode":
        return datanode_registered(f"http://{_address('REID_HOST')}:9864")
    table = load_rack_table(conf_dir / "racks.csv")
    if role == "spark-master":
        return _spark_workers_alive(f"http://{_address('REID_HOST')}:8080/json") >= len(
            table.datanodes)
    jmx = NameNodeJmx(f"http://{_address('REID_NAMENODE_HOST')}:9870", timeout=3.0)
    try:
        live = jmx.live_datanode_ips()
        return not jmx.safe_mode() and {h.compose_ip for h in table.datanodes} <= live
    except (OSError, ValueError, KeyError):
        return False


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
    check = sub.add_parser("healthy", help="exit 0 when the daemon is healthy")
    check.add_argument("role", choices=("namenode", "datanode", "spark-master"))
    args = parser.parse_args(argv)
    conf_dir = Path(os.environ.get("HADOOP_CONF_DIR", CONF_DIR))
    if args.command == "healthy":
        return 0 if healthy(args.role, conf_dir) else 1
    return run_daemon(args.command, args.profile, conf_dir)


if __name__ == "__main__":
    exit_process(run(main))
