"""spark-submit entry point: read every shard of an ingested dataset through Spark's HDFS input.

    spark-submit --master spark://<master>:7077 spark_jobs/scan.py --data hdfs://nn:8020/reid/x

Unlike the ingest (whose tasks come from a plan made on the driver and have no preferred host),
this job's splits carry HDFS block locations, so the scheduler can run each task on a host that
holds its shard: with a Spark worker beside each DataNode, the tasks' locality levels (in the
event log) show whether compute went to the data. Prints one JSON line: files, bytes read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# spark-submit puts this file's folder first on sys.path (see spark_jobs/ingest.py)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from pyspark import SparkConf, SparkContext  # noqa: E402

from hadoop.cli import ArgumentParser, entry_point, non_negative_int  # noqa: E402
from hadoop.siteconf import spark_hadoop_conf  # noqa: E402
from ingest.errors import IngestError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="spark-submit spark_jobs/scan.py", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="hdfs://<namenode>/reid/<name>")
    parser.add_argument("--partitions", type=non_negative_int, default=0,
                        help="minimum Spark tasks (default: one per shard file)")
    args = parser.parse_args(argv)
    if not args.data.startswith("hdfs://"):
        parser.error(f"--data {args.data}: must be an hdfs:// dataset directory")
    # One split per shard file (Spark packs small files into a split up to these sizes), so
    # each task's preferred hosts are exactly its shard's replicas; tasks are scheduled once
    # every worker's executor has registered (or after 60 s), not when the first one has, when
    # most tasks would find no executor on their hosts and run ANY after the locality wait.
    conf = (SparkConf().setAppName("reid-scan").set("spark.files.maxPartitionBytes", "1")
            .set("spark.files.openCostInBytes", "1")
            .set("spark.scheduler.minRegisteredResourcesRatio", "1.0")
            .set("spark.scheduler.maxRegisteredResourcesWaitingTime", "60s"))
    for key, value in spark_hadoop_conf().items():  # Spark's HDFS input resolves hdfs://reid
        conf.setIfMissing(key, value)
    sc = SparkContext(conf=conf)
    pattern = f"{args.data.rstrip('/')}/shards/*/*.shard"
    jvm_path = sc._jvm.org.apache.hadoop.fs.Path(pattern)  # type: ignore[union-attr]
    fs = jvm_path.getFileSystem(sc._jsc.hadoopConfiguration())
    statuses = fs.globStatus(jvm_path) or []
    if not statuses:
        raise IngestError(f"--data {args.data}: no shards match {pattern}")
    partitions = args.partitions or len(statuses)
    sizes = sc.binaryFiles(pattern, partitions).map(lambda kv: len(kv[1])).collect()
    print(json.dumps({"files": len(sizes), "bytes": sum(sizes),
                      "expected_bytes": sum(int(s.getLen()) for s in statuses)}))
    return 0


cli = entry_point(main)

if __name__ == "__main__":  # spark-submit runs this file as a script
    cli()
