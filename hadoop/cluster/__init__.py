"""The docker-less local cluster: ``python -m hadoop.cluster up|down|status``."""

from hadoop.cluster.launcher import DEFAULT_RUN_DIR, ClusterStatus, LocalCluster

__all__ = ["DEFAULT_RUN_DIR", "ClusterStatus", "LocalCluster"]
