"""spark-submit entry point: ingest a MARS tree or a tracklet manifest into HDFS shards + a
tracklet index.

    spark-submit spark_jobs/ingest.py --source /data/MARS --dest hdfs://127.0.0.10:8020/reid/mars
    spark-submit --master spark://host:7077 spark_jobs/ingest.py --source hdfs://nn:8020/mars ...
    spark-submit spark_jobs/ingest.py --source /data/cams/tracklets.csv --dest hdfs://.../reid/cams

``spark_jobs/submit`` is spark-submit with the project's settings (venv Python, quiet logs, a
driver JVM that starts in half the time); plain spark-submit runs the same job.

Local mode (``local[*]``) unless spark-submit's ``--master`` or this script's ``--master`` names
another. The work itself is ``ingest.spark_ingest``; this file parses flags and plans the source
(``ingest.source``: the MARS info files or the manifest checked, frame folders listed) before the
Spark driver starts, so a bad source is refused in seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# spark-submit puts this file's folder first on sys.path, where this very file would shadow the
# `ingest` package it drives.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from pyspark import SparkConf, SparkContext  # noqa: E402

from hadoop.cli import (  # noqa: E402
    ArgumentParser,
    entry_point,
    int_in,
    non_negative_int,
    positive_int,
)
from hadoop.netaddr import job_address  # noqa: E402
from hadoop.siteconf import spark_hadoop_conf  # noqa: E402
from ingest.spark_ingest import MIB, IngestConfig, plan_for, run_ingest  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    defaults = IngestConfig(source="", dest="")
    parser = ArgumentParser(prog="spark-submit spark_jobs/ingest.py",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", required=True,
                        help="a MARS tree (a directory) or a tracklet manifest (a .csv or "
                             ".parquet file, see python -m ingest.manifest --help), local or "
                             "hdfs://")
    parser.add_argument("--dest", required=True, help="hdfs://<namenode>/reid/<name>")
    parser.add_argument("--master", default=None,
                        help="Spark master (default: spark-submit's, else local[*])")
    parser.add_argument("--shard-size-mib", type=positive_int, default=defaults.shard_size // MIB,
                        help="target shard size (default: %(default)s MiB)")
    parser.add_argument("--block-size-mib", type=positive_int, default=defaults.block_size // MIB,
                        help="HDFS block size of shards (default: %(default)s MiB)")
    parser.add_argument("--replication", type=int_in(1, 16), default=defaults.replication,
                        help="HDFS replication of shards and index (default: %(default)s)")
    parser.add_argument("--ids-per-group", type=positive_int, default=defaults.ids_per_group,
                        help="identities per placement group (default: %(default)s)")
    parser.add_argument("--partitions", type=non_negative_int, default=0,
                        help="Spark tasks packing shards (default: 2 x Spark parallelism)")
    parser.add_argument("--lenient", action="store_true",
                        help="skip and count naming/index problems (manifest rows) instead of "
                             "failing")
    parser.add_argument("--allow-missing-split", action="append", default=[],
                        choices=("train", "test"), metavar="SPLIT",
                        help="with --lenient: let an unreadable info/name/query file drop the "
                             "whole SPLIT (train or test; repeatable); without it that is an "
                             "error naming the file")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--append", action="store_true",
                      help="add tracklets the dataset does not have yet; old shards untouched")
    mode.add_argument("--replace", action="store_true",
                      help="rebuild the dataset and swap it in when complete")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = IngestConfig(
        source=args.source, dest=args.dest, shard_size=args.shard_size_mib * MIB,
        block_size=args.block_size_mib * MIB, replication=args.replication,
        ids_per_group=args.ids_per_group, strict=not args.lenient, append=args.append,
        replace=args.replace, partitions=args.partitions,
        allow_missing_split=tuple(args.allow_missing_split))
    planned = plan_for(config)  # checks the flags and the source before a Spark driver starts
    # Python workers run the driver's interpreter unless the environment says otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # Attach to spark-submit's JVM first: a SparkConf made before it exists holds only Python-side
    # settings, and its defaults below would then override spark-submit's --master and --conf.
    SparkContext._ensure_initialized()
    conf = SparkConf().setAppName("reid-hdfs ingest").set("spark.ui.showConsoleProgress", "true")
    if args.master:
        conf.setMaster(args.master)
    conf.setIfMissing("spark.master", "local[*]")  # run outside spark-submit, too
    # The driver's servers (RPC, block manager) listen where the cluster reaches this host, not
    # on Spark's pick, the first non-loopback interface; --conf settings still win.
    address = job_address(args.dest if args.dest.startswith("hdfs://") else None)
    conf.setIfMissing("spark.driver.bindAddress", address)
    conf.setIfMissing("spark.driver.host", address)
    for key, value in spark_hadoop_conf().items():  # the JVM side resolves hdfs://reid too
        conf.setIfMissing(key, value)
    sc = SparkContext.getOrCreate(conf)
    # No sc.stop(): when this process exits, spark-submit's JVM exits too and its shutdown
    # hook stops the context, while PySpark's stop() waits for its accumulator server's poll
    # loop, a noticeable part of a small ingest.
    print(run_ingest(sc, config, planned).summary())
    return 0


cli = entry_point(main)

if __name__ == "__main__":  # spark-submit runs this file as a script
    cli()
