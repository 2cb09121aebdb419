"""Hadoop's own command-line tools (FsShell, DFSAdmin, DFSck, ...) against this cluster.

``hadoop/bin/hdfs`` execs this module, so ``hadoop/bin/hdfs dfs -ls /`` behaves like the
``hdfs`` command of a Hadoop install whose configuration is ``hadoop/conf``.

Like a company cluster's client configuration, every tool knows the nameservice ``reid`` of the
HA layer (``hdfs dfs -ls hdfs://reid/``, ``hdfs haadmin -getAllServiceState``); it is also the
default filesystem where the cluster is HA: the launcher's cluster in ``run/cluster`` runs the HA
profile, or, with no cluster recorded there, the environment names a second NameNode
(``REID_NAMENODE2_HOST``, which the compose HA overlay gives every service), so that
``hdfs dfs -ls /reid`` follows a failover there too.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
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


def nameservice_flags(conf_dir: Path, recorded: Path = RECORDED_CLUSTER,
                      env: Mapping[str, str] | None = None) -> list[str]:
    """``-D`` options that define the HA layer's nameservice for a client, and make it the
    default filesystem where the cluster is HA (see the module docstring)."""
    settings = nameservice_settings(conf_dir)
    flags: list[str] = []
    for key, value in settings.items():
        flags += ["-D", f"{key}={value}"]
    nameservices = [f"hdfs://{name.strip()}"
                    for name in settings.get("dfs.nameservices", "").split(",") if name.strip()]
    try:
        default_fs = str(json.loads(recorded.read_text())["namenode"])
    except (OSError, ValueError, KeyError):
        default_fs = ""
    if not default_fs and nameservices \
            and (os.environ if env is None else env).get("REID_NAMENODE2_HOST"):
        default_fs = nameservices[0]  # no cluster of this checkout: the environment's is HA
    if default_fs in nameservices:
        flags += ["-D", f"fs.defaultFS={default_fs}"]
    return flags


cli = entry_point(main)

if __name__ == "__main__":
    cli()
