"""Hadoop's own command-line tools (FsShell, DFSAdmin, DFSck, ...) against this cluster.

``hadoop/bin/hdfs`` execs this module, so ``hadoop/bin/hdfs dfs -ls /`` behaves like the
``hdfs`` command of a Hadoop install whose configuration is ``hadoop/conf``.

Like a company cluster's client configuration, every tool knows the nameservice ``reid`` of the
HA layer (``hdfs dfs -ls hdfs://reid/``, ``hdfs haadmin -getAllServiceState``); when the
launcher's cluster in ``run/cluster`` runs the HA profile, it is also the default filesystem.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from hadoop.cli import UsageError, entry_point
from hadoop.jvm import MAIN_CLASSES, hadoop_env, java_command
from hadoop.siteconf import CONF_DIR, nameservice_settings

TOOLS = ("dfs", "dfsadmin", "fsck", "getconf", "balancer", "haadmin")
RECORDED_CLUSTER = Path(__file__).resolve().parents[1] / "run" / "cluster" / "cluster.json"
USAGE = ("usage: hdfs COMMAND [ARGS]\n"
         "  dfs        run a filesystem command (FsShell: -ls, -put, -cat, -setrep, ...)\n"
         "  dfsadmin   administer the cluster (-report, -printTopology, -safemode, ...)\n"
         "  fsck       check the filesystem (fsck PATH -files -blocks -locations -racks)\n"
         "  getconf    read configuration values (-confKey KEY, -namenodes)\n"
         "  balancer   run Hadoop's Balancer\n"
         "  haadmin    NameNode HA state (-getAllServiceState, -failover nn1 nn2)")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 0
    if args[0] not in TOOLS:
        raise UsageError(f"unknown command {args[0]!r}: choose one of {', '.join(TOOLS)}")
    conf_dir = Path(os.environ.get("HADOOP_CONF_DIR", CONF_DIR))
    cmd = java_command(MAIN_CLASSES[args[0]], [*nameservice_flags(conf_dir), *args[1:]],
                       conf_dir=conf_dir, system_props={"hadoop.root.logger": "WARN,console"})
    os.execve(cmd[0], cmd, hadoop_env(conf_dir))


def nameservice_flags(conf_dir: Path, recorded: Path = RECORDED_CLUSTER) -> list[str]:
    """``-D`` options that define the HA layer's nameservice for a client, and make it the
    default filesystem while the launcher's cluster runs the HA profile."""
    settings = nameservice_settings(conf_dir)
    flags: list[str] = []
    for key, value in settings.items():
        flags += ["-D", f"{key}={value}"]
    try:
        default_fs = str(json.loads(recorded.read_text())["namenode"])
    except (OSError, ValueError, KeyError):
        default_fs = ""
    nameservices = settings.get("dfs.nameservices", "").split(",")
    if default_fs and default_fs in {f"hdfs://{name.strip()}" for name in nameservices}:
        flags += ["-D", f"fs.defaultFS={default_fs}"]
    return flags


cli = entry_point(main)

if __name__ == "__main__":
    cli()
