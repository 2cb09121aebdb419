"""Errors raised by the cluster tooling. Each message says what is wrong and what to do."""


class ClusterError(RuntimeError):
    """Base class: anything that stops the cluster tooling from doing what was asked."""


class TopologyError(ClusterError):
    """The rack table (racks.csv) is malformed or inconsistent with the site configuration."""


class JavaNotFoundError(ClusterError):
    """No usable Java 17+ runtime, or the Hadoop jars have not been resolved yet."""


class PortInUseError(ClusterError):
    """A daemon's address:port is already taken by another process."""


class NameNodeStorageError(ClusterError):
    """The NameNode's name directory exists but cannot be used (corrupt or partial)."""


class DaemonStartError(ClusterError):
    """A daemon exited or did not become ready in time; the message carries its log's tail."""


class ClusterNotRunningError(ClusterError):
    """An operation needs a running cluster and there is none under the run directory."""
