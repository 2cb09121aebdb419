"""Training and evaluation: data pipeline from HDFS, the NVAN model, losses, pipeline parallelism."""
