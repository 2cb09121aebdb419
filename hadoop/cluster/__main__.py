"""Command line of the local cluster launcher.

    python -m hadoop.cluster up [--profile test]   start (idempotent), wait until healthy
    python -m hadoop.cluster up --profile secure   the same with Kerberos, encryption, HTTPS
    eval "$(python -m hadoop.cluster env)"         this shell becomes a client of the cluster
    python -m hadoop.cluster up --profile ha       two NameNodes (hdfs://reid), auto failover
    python -m hadoop.cluster status                live DataNodes per rack (HA: which NameNode
                                                   is active)
    python -m hadoop.cluster down                  stop every daemon, keep the data
    python -m hadoop.cluster kill dn3              SIGKILL DataNodes (names, IPs or /rackN)
    python -m hadoop.cluster stop /rack2           clean shutdown of DataNodes
    python -m hadoop.cluster start dn3 /rack2      restart them and wait until they are live
    python -m hadoop.cluster scrub /reid/x         make every replica holder verify its blocks
    python -m hadoop.cluster client-rack /rack1    this host's clients read as rack-1 hosts
  fault injection (tests):
    python -m hadoop.cluster corrupt PATH [--block N] [--node dnX]
    python -m hadoop.cluster delete-replica PATH [--block N] [--node dnX]
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path

from hadoop.blocks import scrub
from hadoop.cli import ArgumentParser, entry_point, non_negative_int, positive_float
from hadoop.cluster.faults import corrupt_replica, delete_replica
from hadoop.cluster.launcher import DEFAULT_RUN_DIR, LocalCluster
from hadoop.cluster.profiles import parse_profile
from hadoop.errors import ClusterError
from hadoop.siteconf import CONF_DIR


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m hadoop.cluster", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR,
                        help="pid files, logs and HDFS storage (default: %(default)s)")
    parser.add_argument("--conf-dir", type=Path, default=CONF_DIR,
                        help="site files, racks.csv, topology.sh (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the cluster and wait until it is healthy")
    up.add_argument("--profile", type=_profile, default=None,
                    help="timing profile and/or layers joined by '+': 'test' = fast "
                         "heartbeats and repair, 'ha' = two NameNodes behind the nameservice "
                         "hdfs://reid with automatic failover, 'test+ha' both (default: the "
                         "running cluster's, else 'default')")
    up.add_argument("--timeout", type=positive_float, default=180.0,
                    help="seconds to wait for health")
    sub.add_parser("down", help="stop every daemon; HDFS data stays in the run directory")
    sub.add_parser("status", help="show the NameNode and the live DataNodes per rack")
    sub.add_parser("env", help="shell exports that make a client of this cluster (secure "
                               "profile: its conf dir, realm and the service user's ticket)")
    for name, text in (("kill", "SIGKILL daemons"), ("stop", "stop daemons cleanly"),
                       ("start", "(re)start daemons and wait until they are live")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("nodes", nargs="+", help="host names, addresses or rack paths")
    sub.add_parser("scrub", help="verify every replica of a file").add_argument("path")
    sub.add_parser("client-rack", help="the rack this host's HDFS clients appear on (root)"
                   ).add_argument("rack", help="/rackN, or 'none' for off-cluster")
    for name in ("corrupt", "delete-replica"):
        cmd = sub.add_parser(name, help="fault injection on one replica's block file (tests)")
        cmd.add_argument("path")
        cmd.add_argument("--block", type=non_negative_int, default=0,
                         help="block index in the file")
        cmd.add_argument("--node", default=None, help="which holder (default: the first)")
    return parser


def _profile(value: str) -> str:
    try:
        parse_profile(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return _run(LocalCluster(args.run_dir, args.conf_dir, getattr(args, "profile", None)), args)


def _run(cluster: LocalCluster, args: argparse.Namespace) -> int:
    if args.command == "up":
        began = time.monotonic()
        print(f"==> HDFS: {len(cluster.namenodes)} NameNode{'s' if cluster.ha else ''}, "
              f"{len(cluster.datanodes)} DataNodes, profile {cluster.profile}, "
              f"run directory {cluster.run_dir}", flush=True)
        status = cluster.up(timeout=args.timeout)
        print(status.render())
        print(f"==> HDFS is up ({time.monotonic() - began:.1f} s): {status.namenode_url}  "
              f"web UI {status.web_ui}")
    elif args.command == "down":
        stopped = cluster.down()
        print(f"==> stopped: {', '.join(stopped)}" if stopped else "==> nothing was running")
    elif args.command == "env":
        exports = cluster.security.client_env() if cluster.security else {}
        for key, value in exports.items():
            print(f"export {key}={shlex.quote(value)}")
    elif args.command == "status":
        status = cluster.status()
        print(status.render())
        return 0 if status.namenode_pid else 3
    elif args.command in ("kill", "stop"):
        stopped = cluster.stop(args.nodes, kill=args.command == "kill")
        print(f"==> {args.command}: {', '.join(stopped) or 'nothing was running'}")
    elif args.command == "start":
        cluster.start(args.nodes)
        print(cluster.status().render())
    elif args.command == "client-rack":
        cluster.set_client_rack(None if args.rack == "none" else args.rack)
        print(f"==> HDFS clients on this host now appear on {cluster.client_rack() or 'no rack'}")
    elif args.command in ("scrub", "corrupt", "delete-replica") and cluster.security:
        raise ClusterError(f"`{args.command}` reads block locations through WebHDFS as a "
                           "simple-auth user; the secure profile refuses that (run it on the "
                           "default or test profile)")
    elif args.command == "scrub":
        report = scrub(args.path, cluster.status().web_ui, cluster.namenode_url)
        print(f"==> {args.path}: {report.blocks} blocks, {report.replica_reads} replicas "
              f"verified by their DataNodes, {report.inconsistent_blocks} inconsistent")
    else:
        damage = corrupt_replica if args.command == "corrupt" else delete_replica
        node, block_file = damage(cluster, args.path, args.block, args.node)
        print(f"==> {args.command}: block #{args.block} of {args.path} on {node}: {block_file}")
    return 0


cli = entry_point(main)

if __name__ == "__main__":
    cli()
