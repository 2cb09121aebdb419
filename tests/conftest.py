"""Shared fixtures. Cluster tests (marked ``cluster``) share one real HDFS cluster per session."""
