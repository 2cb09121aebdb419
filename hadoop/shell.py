"""Hadoop's own command-line tools (FsShell, DFSAdmin, DFSck, ...) against this cluster.

``hadoop/bin/hdfs`` execs this module, so ``hadoop/bin/hdfs dfs -ls /`` behaves like the
``hdfs`` command of a Hadoop install whose configuration is ``hadoop/conf``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hadoop.cli import UsageError, entry_point
from hadoop.jvm import MAIN_CLASSES, hadoop_env, java_command
from hadoop.siteconf import CONF_DIR

TOOLS = ("dfs", "dfsadmin", "fsck", "getconf", "balancer")
USAGE = ("usage: hdfs COMMAND [ARGS]\n"
         "  dfs        run a filesystem command (FsShell: -ls, -put, -cat, -setrep, ...)\n"
         "  dfsadmin   administer the cluster (-report, -printTopology, -safemode, ...)\n"
         "  fsck       check the filesystem (fsck PATH -files -blocks -locations -racks)\n"
         "  getconf    read configuration values (-confKey KEY, -namenodes)\n"
         "  balancer   run Hadoop's Balancer")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 0
    if args[0] not in TOOLS:
        raise UsageError(f"unknown command {args[0]!r}: choose one of {', '.join(TOOLS)}")
    conf_dir = Path(os.environ.get("HADOOP_CONF_DIR", CONF_DIR))
    cmd = java_command(MAIN_CLASSES[args[0]], args[1:], conf_dir=conf_dir,
                       system_props={"hadoop.root.logger": "WARN,console"})
    os.execve(cmd[0], cmd, hadoop_env(conf_dir))


cli = entry_point(main)

if __name__ == "__main__":
    cli()
