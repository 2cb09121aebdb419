"""A minimal PySpark job for ``spark_jobs/submit --build-class-archive``.

It starts a SparkContext as the ingest does and runs one Python task on each core, so the driver JVM
loads the classes every job of this project needs before it dumps them into the class-data
archive. It touches no data.
"""

from __future__ import annotations

from pyspark import SparkConf, SparkContext


def main() -> int:
    sc = SparkContext.getOrCreate(SparkConf().setAppName("reid-hdfs class-data warm-up"))
    cores = sc.defaultParallelism
    done = sc.parallelize(range(cores), cores).mapPartitions(lambda part: [sum(part)]).collect()
    print(f"warm-up: {len(done)} tasks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
