"""spark-submit entry points. Each is thin: argument parsing plus calls into ``ingest``."""
