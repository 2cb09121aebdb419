"""Command line of the local cluster launcher.

    python -m hadoop.cluster up [--profile test]   start (idempotent), wait until healthy
    python -m hadoop.cluster status                live DataNodes per rack
    python -m hadoop.cluster down                  stop every daemon, leave the data
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hadoop.cluster.launcher import DEFAULT_RUN_DIR, LocalCluster
from hadoop.cluster.profiles import PROFILES
from hadoop.errors import ClusterError
from hadoop.siteconf import CONF_DIR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hadoop.cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR,
                        help="pid files, logs and HDFS storage (default: %(default)s)")
    parser.add_argument("--conf-dir", type=Path, default=CONF_DIR,
                        help="site files, racks.csv, topology.sh (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the cluster and wait until it is healthy")
    up.add_argument("--profile", choices=sorted(PROFILES), default=None,
                    help="timing profile; 'test' = fast heartbeats and repair (default: the "
                         "running cluster's, else 'default')")
    up.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for health")
    sub.add_parser("down", help="stop every daemon; HDFS data stays in the run directory")
    sub.add_parser("status", help="show the NameNode and the live DataNodes per rack")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cluster = LocalCluster(args.run_dir, args.conf_dir, getattr(args, "profile", None))
        if args.command == "up":
            began = time.monotonic()
            print(f"==> starting HDFS ({len(cluster.datanodes)} DataNodes, profile "
                  f"{cluster.profile}) under {cluster.run_dir}", flush=True)
            status = cluster.up(timeout=args.timeout)
            print(status.render())
            print(f"==> HDFS is up in {time.monotonic() - began:.1f} s: {status.namenode_url}  "
                  f"web UI {status.web_ui}")
        elif args.command == "down":
            stopped = cluster.down()
            print(f"==> stopped: {', '.join(stopped)}" if stopped else "==> nothing was running")
        else:
            status = cluster.status()
            print(status.render())
            return 0 if status.namenode_pid else 3
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
