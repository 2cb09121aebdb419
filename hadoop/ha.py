"""NameNode high availability pieces shared by the local launcher and the containers.

Both deployments run the HA layer (hadoop/conf/ha-site.xml) with the same daemons; this module
holds what each daemon needs beyond the site files, so neither keeps its own copy: which
NameNode of the nameservice a NameNode or its failover controller (ZKFC) is, and ZooKeeper's
configuration file.
"""

from __future__ import annotations

from pathlib import Path

NAMESERVICE = "reid"  # ha-site.xml's dfs.nameservices
ZOOKEEPER_PORT, ZKFC_PORT = 2181, 8019


def namenode_id(index: int) -> str:
    """The id (nn1, nn2) of the NameNode on racks.csv's ``index``-th namenode row (from 0)."""
    return f"nn{index + 1}"


def namenode_id_flags(namenode_id: str) -> list[str]:
    """``-D`` flags that say which NameNode of the nameservice a NameNode or ZKFC serves: on
    one host both NameNode addresses are local, so Hadoop cannot tell from its addresses."""
    return ["-D", f"dfs.ha.namenode.id={namenode_id}", "-D", f"dfs.nameservice.id={NAMESERVICE}"]


def zookeeper_config(data_dir: Path, address: str) -> str:
    """A standalone ZooKeeper's zoo.cfg: its own address only, no admin web server, the
    four-letter words health checks use (``ruok``, ``srvr``)."""
    return "\n".join([
        "tickTime=500", f"dataDir={data_dir}", f"clientPort={ZOOKEEPER_PORT}",
        f"clientPortAddress={address}", "admin.enableServer=false",
        "4lw.commands.whitelist=ruok,srvr", "maxSessionTimeout=60000", ""])
