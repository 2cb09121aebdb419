"""The dataset the cluster benchmarks read: a generated MARS tree, ingested by Spark into HDFS."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ingest.synthetic import SyntheticConfig, generate


def ingest_generated(work: Path, namenode_url: str, name: str, *, ids: int, seed: int = 9) -> str:
    """Generate ``ids`` identities into ``work/mars`` (once per ``work``) and ingest them with a
    ``local[2]`` Spark into ``<namenode_url>/reid/<name>``; the dataset's URL."""
    from pyspark import SparkContext  # a JVM: only for the benchmarks that ingest

    from ingest.spark_ingest import IngestConfig, run_ingest

    source = work / "mars"
    if not source.exists():
        generate(source, SyntheticConfig(ids=ids, seed=seed))
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    url = f"{namenode_url}/reid/{name}"
    sc = SparkContext("local[2]", f"{name} ingest")
    try:
        run_ingest(sc, IngestConfig(source=str(source), dest=url))
    finally:
        sc.stop()
    return url
