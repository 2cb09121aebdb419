"""Read the Hadoop site files the way Hadoop does, so Python and Java agree on addresses.

Only what Python needs is implemented: ``<property><name>/<value>`` pairs, and Hadoop's
variable expansion ``${env.NAME}``, ``${env.NAME:-default}`` and ``${other.property}``.

A profile may add a *layer*: another site file (``LAYERS``) whose properties the launcher gives
every daemon as ``-D`` flags over the base files (the ``ha`` layer: NameNode high availability).
The addresses of the HA hosts (``REID_NAMENODE2_HOST``, ``REID_JOURNALNODE<i>_HOST``,
``REID_ZOOKEEPER_HOST``) default to their rows of ``racks.csv``, so a client that only exports
``REID_NAMENODE_HOST`` and ``REID_LOOPBACK_NET`` still finds the whole nameservice.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from hadoop.errors import ClusterError
from hadoop.topology import Host, RackTable, load_rack_table

CONF_DIR = Path(__file__).resolve().parent / "conf"
SITE_FILES = ("core-site.xml", "hdfs-site.xml")
LAYERS = {"ha": "ha-site.xml"}
# The client's half of the HA layer: what a JVM client needs to resolve ``hdfs://reid``.
NAMESERVICE_KEYS = ("dfs.nameservices", "dfs.ha.namenodes.", "dfs.namenode.rpc-address.",
                    "dfs.namenode.http-address.", "dfs.client.failover.proxy.provider.")
_VAR_RE = re.compile(r"\$\{([^}$]+)\}")
_MAX_DEPTH = 20  # Hadoop's own substitution depth limit


def load_site(conf_dir: Path = CONF_DIR, env: Mapping[str, str] | None = None,
              layers: Iterable[str] = ()) -> dict[str, str]:
    """All properties of the site files in ``conf_dir`` and of the named ``layers`` over them,
    variables expanded against ``env`` (the HA hosts' addresses default to racks.csv's)."""
    environ = {**host_env(conf_dir), **(os.environ if env is None else env)}
    raw: dict[str, str] = {}
    for name in (*SITE_FILES, *(layer_file(layer) for layer in layers)):
        raw.update(read_properties(conf_dir / name))
    return {key: _expand(value, raw, environ) for key, value in raw.items()}


def present_layers(conf_dir: Path = CONF_DIR) -> list[str]:
    """The layers whose site file ``conf_dir`` has."""
    return [layer for layer, name in LAYERS.items() if (conf_dir / name).is_file()]


def layer_file(layer: str) -> str:
    if layer not in LAYERS:
        raise ClusterError(f"unknown configuration layer {layer!r}; choose one of "
                           f"{', '.join(LAYERS)}")
    return LAYERS[layer]


def read_properties(path: Path) -> dict[str, str]:
    """One site file's ``name -> value`` pairs as written (variables not expanded)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ClusterError(f"cannot read Hadoop site file {path}: {exc}") from exc
    raw: dict[str, str] = {}
    for prop in root.iter("property"):
        key, value = prop.findtext("name"), prop.findtext("value")
        if key is not None and value is not None:
            raw[key.strip()] = value.strip()
    return raw


def host_env(conf_dir: Path = CONF_DIR) -> dict[str, str]:
    """The HA hosts' address variables, from racks.csv's local addresses (moved by
    ``REID_LOOPBACK_NET``); empty when ``conf_dir`` has no rack table."""
    if not (conf_dir / "racks.csv").is_file():
        return {}
    return ha_host_env(load_rack_table(conf_dir / "racks.csv"), lambda host: host.local_ip)


def ha_host_env(table: RackTable, address: Callable[[Host], str]) -> dict[str, str]:
    """The HA hosts' address variables of ha-site.xml, each host at ``address(host)`` (its
    ``local_ip`` for the local launcher, its ``compose_ip`` in docker-compose)."""
    env = {f"REID_JOURNALNODE{i}_HOST": address(h)
           for i, h in enumerate(table.journalnodes, start=1)}
    if len(table.namenodes) > 1:
        env["REID_NAMENODE2_HOST"] = address(table.namenodes[1])
    if table.zookeepers:
        env["REID_ZOOKEEPER_HOST"] = address(table.zookeepers[0])
    return env


def nameservice_addresses(name: str, conf_dir: Path = CONF_DIR,
                          env: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """``{namenode id: host:port}`` of the nameservice ``name`` (``hdfs://reid``) as a client's
    configuration defines it (the base files and every layer), or None if none defines it."""
    site = load_site(conf_dir, env, layers=LAYERS)
    ids = site.get(f"dfs.ha.namenodes.{name}")
    if not ids:
        return None
    addresses = {}
    for nn in (part.strip() for part in ids.split(",") if part.strip()):
        key = f"dfs.namenode.rpc-address.{name}.{nn}"
        if key not in site:
            raise ClusterError(f"nameservice {name!r}: {key} is not set")
        addresses[nn] = site[key]
    return addresses


def nameservice_settings(conf_dir: Path = CONF_DIR,
                         env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The nameservice keys of the layers, expanded: given to a JVM client (Hadoop's tools as
    ``-D`` flags, Spark as ``spark.hadoop.*``) so that it resolves ``hdfs://reid`` itself.
    Empty for a configuration directory without the layer files (the secure profile's)."""
    layered = load_site(conf_dir, env, layers=present_layers(conf_dir))
    return {key: value for key, value in layered.items() if key.startswith(NAMESERVICE_KEYS)}


def spark_hadoop_conf(conf_dir: Path = CONF_DIR,
                      env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``spark.hadoop.*`` settings that let a Spark job's JVM (driver and executors) read and
    write the nameservice: Spark copies them into every Hadoop configuration it makes."""
    return {f"spark.hadoop.{key}": value
            for key, value in nameservice_settings(conf_dir, env).items()}


def namenode_webs(url: str, conf_dir: Path = CONF_DIR,
                  env: Mapping[str, str] | None = None) -> list[str]:
    """``http://host:port`` of the NameNode(s) an ``hdfs://`` URL names: every member of a
    nameservice (``hdfs://reid``), in configured order; for ``hdfs://host:port`` that host with
    the configured HTTP port; for ``hdfs:///`` the configured NameNode."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port
    if host and port is None:
        site = load_site(conf_dir, env, layers=present_layers(conf_dir))
        ids = site.get(f"dfs.ha.namenodes.{host}", "")
        webs = [site.get(f"dfs.namenode.http-address.{host}.{nn.strip()}", "")
                for nn in ids.split(",") if nn.strip()]
        if not webs or not all(webs):
            raise ClusterError(f"{url}: no NameNode web addresses configured for nameservice "
                               f"{host!r} (dfs.namenode.http-address.{host}.<id>)")
        return [f"http://{web}" for web in webs]
    site = load_site(conf_dir, env)
    if not host:
        return ["http://" + site["dfs.namenode.http-address"]]
    _, web_port = host_port(site["dfs.namenode.http-address"])
    return [f"http://{host}:{web_port}"]


def _expand(value: str, props: Mapping[str, str], env: Mapping[str, str]) -> str:
    for _ in range(_MAX_DEPTH):
        match = _VAR_RE.search(value)
        if match is None:
            return value
        value = value[: match.start()] + _lookup(match.group(1), props, env) + value[match.end():]
    raise ClusterError(f"variable expansion too deep in {value!r}")


def _lookup(var: str, props: Mapping[str, str], env: Mapping[str, str]) -> str:
    if var.startswith("env."):
        name, sep, default = var[4:].partition(":-")
        found = env.get(name, "")
        return found if found or not sep else default
    if var in props:
        return props[var]
    if var == "user.name":
        return env.get("USER", "")
    raise ClusterError(f"site configuration refers to undefined ${{{var}}}")


def namenode_url(conf_dir: Path = CONF_DIR, env: Mapping[str, str] | None = None) -> str:
    """``hdfs://host:port`` of the NameNode, from ``fs.defaultFS``."""
    return load_site(conf_dir, env)["fs.defaultFS"]


def namenode_http(conf_dir: Path = CONF_DIR, env: Mapping[str, str] | None = None) -> str:
    """``http://host:port`` of the NameNode's web UI (and WebHDFS, JMX)."""
    return "http://" + load_site(conf_dir, env)["dfs.namenode.http-address"]


def host_port(url_or_address: str) -> tuple[str, int]:
    """Split ``hdfs://h:p`` or ``h:p`` into its host and port."""
    parts = urlsplit(url_or_address if "//" in url_or_address else "//" + url_or_address)
    if parts.hostname is None or parts.port is None:
        raise ClusterError(f"{url_or_address!r} is not host:port")
    return parts.hostname, parts.port
