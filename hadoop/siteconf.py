"""Read the Hadoop site files the way Hadoop does, so Python and Java agree on addresses.

Only what Python needs is implemented: ``<property><name>/<value>`` pairs, and Hadoop's
variable expansion ``${env.NAME}``, ``${env.NAME:-default}`` and ``${other.property}``.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from hadoop.errors import ClusterError

CONF_DIR = Path(__file__).resolve().parent / "conf"
SITE_FILES = ("core-site.xml", "hdfs-site.xml")
_VAR_RE = re.compile(r"\$\{([^}$]+)\}")
_MAX_DEPTH = 20  # Hadoop's own substitution depth limit


def load_site(conf_dir: Path = CONF_DIR, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """All properties of the site files in ``conf_dir``, variables expanded against ``env``."""
    environ = os.environ if env is None else env
    raw: dict[str, str] = {}
    for name in SITE_FILES:
        path = conf_dir / name
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            raise ClusterError(f"cannot read Hadoop site file {path}: {exc}") from exc
        for prop in root.iter("property"):
            key, value = prop.findtext("name"), prop.findtext("value")
            if key is not None and value is not None:
                raw[key.strip()] = value.strip()
    return {key: _expand(value, raw, environ) for key, value in raw.items()}


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
