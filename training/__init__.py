"""Training and evaluation: HDFS data pipeline, the NVAN model, losses, pipeline parallelism."""
