"""The project's one error root, and the errors of the cluster tooling.

Every error the project raises on purpose derives from :class:`ReidError`: a problem with the
user's input, files, cluster or configuration that a one-line message can name. Command lines
catch exactly this class (see :mod:`hadoop.cli`); anything else is a bug and keeps its traceback.
The root lives in ``hadoop`` because it is the lowest layer: ingest and training build on it.
"""


class ReidError(Exception):
    """Root of every deliberate error; its message names the culprit (file, path, flag, host)."""


class ClusterError(ReidError):
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


class SecurityError(ClusterError):
    """The secure profile's KDC, keytabs, keystores or host names could not be set up."""
