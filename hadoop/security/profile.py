"""The secure profile of the local cluster: everything ``up --profile secure`` adds.

Start-up, in order: a host name per loopback alias (``/etc/hosts``), the realm's KDC with a
principal and keytab per daemon (``nn/`` or ``dn/`` plus ``HTTP/`` for its web endpoint), the
service user ``reid`` and an ``intruder`` (a valid principal with no rights, for the attack
tests), the HTTPS keystores, and the configuration directory ``<run>/conf``: the shared site
files with ``hadoop/conf/secure/*.xml`` layered over them. Daemons and clients alike use that
directory (``HADOOP_CONF_DIR``); clients also need ``KRB5_CONFIG`` and a ticket
(``KRB5CCNAME``), which ``client_env`` gives: ``eval "$(python -m hadoop.cluster env)"``.

Docker-compose uses the same files and the same functions (``create_realm``, ``make_secrets``,
``write_conf``; see hadoop.security.stack): the layer's values refer to each host only through
``REID_KEYTAB``, ``REID_HOSTNAME`` and ``REID_TLS_PASSWORD`` in its environment.
"""

from __future__ import annotations

import os
import secrets
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from hadoop.errors import SecurityError
from hadoop.security import hosts
from hadoop.security.kdc import Kdc
from hadoop.security.names import (
    DOMAIN,
    INTRUDER,
    REALM,
    SERVICE_USER,
    HostNamer,
    host_name,
    service_principals,
    user_principal,
)
from hadoop.security.tls import make_keystores
from hadoop.siteconf import LAYERS, SITE_FILES, read_properties
from hadoop.topology import Host, RackTable

if TYPE_CHECKING:  # gssapi, under SpnegoHttp, is loaded only when a secure cluster is used: the
    from hadoop.security.http import SpnegoHttp  # HDFS container image has no Kerberos client

LAYER = "secure"  # hadoop/conf/secure: the site-file layer of this profile
_LAYER_ONLY = ("ssl-server.xml", "ssl-client.xml")
# copied unchanged; the layers too: hadoop/bin/hdfs reads the HA layer's nameservice keys
_COPIED = ("racks.csv", "topology.sh", "log4j.properties", "hadoop-metrics2.properties",
           *LAYERS.values())
_SECURITY_DIR_VAR = "${env.REID_SECURITY_DIR}"


class SecureProfile:
    """The KDC, keytabs, keystores, host names and configuration of one run directory."""

    def __init__(self, run_dir: Path, base_conf: Path, table: RackTable) -> None:
        self.run_dir = run_dir
        self.base_conf = base_conf
        self.table = table
        self.dir = run_dir / "security"
        self.conf_dir = run_dir / "conf"
        self.kdc = Kdc(self.dir / "kdc", REALM, DOMAIN, table.namenode.local_ip)
        self.cafile = self.dir / "ca.pem"
        self.ccache = self.dir / f"krb5cc_{SERVICE_USER}"
        self.net = table.namenode.local_ip.rsplit(".", 1)[0]

    # ---- what daemons and clients get --------------------------------------------------------

    @property
    def servers(self) -> tuple[Host, ...]:
        return tuple(h for h in self.table.hosts if h.role in ("namenode", "datanode"))

    def keytab(self, name: str) -> Path:
        """The keytab of a host (``dn1``) or user (``reid``, ``intruder``)."""
        return self.dir / "keytabs" / f"{name}.keytab"

    def daemon_env(self, host: Host) -> dict[str, str]:
        return {"REID_KEYTAB": str(self.keytab(host.name)), "REID_HOSTNAME": host_name(host),
                "REID_TLS_PASSWORD": self._tls_password(), "HADOOP_CONF_DIR": str(self.conf_dir),
                "KRB5_CONFIG": str(self.kdc.krb5_conf),
                "KRB5CCNAME": f"FILE:{self.dir / ('krb5cc_' + host.name)}"}

    def client_env(self) -> dict[str, str]:
        """What a client of this cluster needs: its configuration, realm and the service user's
        ticket cache (filled by ``up``; renew with kinit)."""
        return {"HADOOP_CONF_DIR": str(self.conf_dir), "KRB5_CONFIG": str(self.kdc.krb5_conf),
                "KRB5CCNAME": f"FILE:{self.ccache}"}

    def web_url(self, host: Host, port: int) -> str:
        return f"https://{host_name(host)}:{port}"

    def use_realm(self) -> None:
        """Make this process (the launcher, a test session) a client of this cluster: its
        Hadoop configuration (hdfs-native reads HADOOP_CONF_DIR when it makes a client) and
        realm (MIT's library reads KRB5_CONFIG each time it sets up, as gssapi's does)."""
        os.environ["HADOOP_CONF_DIR"] = str(self.conf_dir)
        os.environ["KRB5_CONFIG"] = str(self.kdc.krb5_conf)

    def admin_http(self) -> SpnegoHttp:
        """HTTPS + SPNEGO as the NameNode's principal (the launcher's status and health)."""
        from hadoop.security.http import SpnegoHttp

        self.use_realm()
        nn = self.table.namenode
        return SpnegoHttp(self.cafile, service_principals(nn)[0], self.keytab(nn.name))

    def admin_client_factory(self) -> partial:
        """hdfs-native clients authenticated as the NameNode (the HDFS superuser 'hdfs')."""
        self.use_realm()
        nn = self.table.namenode
        return keytab_client(service_principals(nn)[0], self.keytab(nn.name))

    # ---- start and stop ----------------------------------------------------------------------

    def prepare(self) -> None:
        """Host names, KDC (started), keytabs, keystores and conf dir; reuses what exists."""
        hosts.write_block(self.net, [(h.local_ip, host_name(h)) for h in self.table.hosts],
                          f"run directory {self.run_dir}")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        (self.dir / "keytabs").mkdir(exist_ok=True)
        if not self.kdc.exists():
            create_realm(self.kdc, self.servers, self.keytab, host_name)
        self.kdc.start()
        if not self.cafile.exists():
            make_secrets(self.dir, [host_name(h) for h in self.table.hosts],
                         [h.local_ip for h in self.table.hosts])
        self._write_conf()
        self.kdc.kinit(user_principal(SERVICE_USER), self.keytab(SERVICE_USER), self.ccache)

    def stop(self) -> list[str]:
        stopped = ["kdc"] if self.kdc.stop() else []
        if hosts.has_block(self.net):
            hosts.remove_block(self.net)
        return stopped

    # ---- internals ---------------------------------------------------------------------------

    def _tls_password(self) -> str:
        return tls_password(self.dir)

    def _write_conf(self) -> None:
        write_conf(self.base_conf, self.conf_dir, self.dir)


# ---- what the local launcher and docker-compose's kdc container both make --------------------

def create_realm(kdc: Kdc, servers: Iterable[Host], keytab: Callable[[str], Path],
                 namer: HostNamer) -> None:
    """The realm's database with every principal of the cluster: each server's service
    principals under its ``namer`` name, the service user and the intruder; one keytab per
    host and user, at ``keytab(name)``."""
    keytabs = {keytab(h.name): service_principals(h, namer) for h in servers}
    for user in (SERVICE_USER, INTRUDER):
        keytabs[keytab(user)] = [user_principal(user)]
    kdc.create(keytabs)


def make_secrets(directory: Path, names: list[str], addresses: list[str]) -> None:
    """The HTTPS keystores for ``names`` and ``addresses``, their password and the web
    endpoints' cookie signature secret, in ``directory``."""
    password = make_keystores(directory, names, addresses)
    _write_private(directory / "tls-password", password)
    _write_private(directory / "http-signature-secret", secrets.token_urlsafe(32))


def tls_password(directory: Path) -> str:
    """The keystore password ``make_secrets`` wrote (daemons get it as REID_TLS_PASSWORD)."""
    try:
        return (directory / "tls-password").read_text().strip()
    except OSError as exc:
        raise SecurityError(f"the keystore password {directory / 'tls-password'} is "
                            f"missing ({exc.strerror}): run `python -m hadoop.cluster up "
                            "--profile secure` (or start the compose stack's kdc)") from exc


def write_conf(base_conf: Path, conf_dir: Path, security_dir: Path) -> None:
    """``conf_dir``: the shared site files of ``base_conf`` with the secure layer over them,
    ``${env.REID_SECURITY_DIR}`` filled in with ``security_dir`` (where the daemons and
    clients that read this directory find the keystores)."""
    layer = base_conf / LAYER
    tmp = conf_dir.with_name(conf_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in SITE_FILES:
        merged = {**read_properties(base_conf / name), **read_properties(layer / name)}
        _write_site(tmp / name, merged, security_dir)
    for name in _LAYER_ONLY:
        _write_site(tmp / name, read_properties(layer / name), security_dir)
    for name in _COPIED:
        if (base_conf / name).exists():
            shutil.copy2(base_conf / name, tmp / name)
    shutil.rmtree(conf_dir, ignore_errors=True)
    tmp.replace(conf_dir)


def keytab_client(principal: str, keytab: Path) -> partial:
    """A client factory for :class:`hadoop.fs.HdfsFS` that logs in as ``principal`` from
    ``keytab`` (no credential cache needed; picklable, for spawned workers)."""
    from hdfs_native import Client

    return partial(_client_from_keytab, principal=principal, keytab=str(keytab), client=Client)


def _client_from_keytab(url: str, config: dict[str, str], *, principal: str, keytab: str,
                        client: type) -> object:
    return client(url, config, kerberos_principal=principal, kerberos_keytab=keytab)


def _write_site(path: Path, props: dict[str, str], security_dir: Path) -> None:
    root = ET.Element("configuration")
    root.append(ET.Comment(" generated by the secure profile (local launcher or compose kdc) "
                           "from hadoop/conf and hadoop/conf/secure; edit those, not this "))
    for key, value in props.items():
        prop = ET.SubElement(root, "property")
        ET.SubElement(prop, "name").text = key
        ET.SubElement(prop, "value").text = value.replace(_SECURITY_DIR_VAR, str(security_dir))
    ET.indent(root)
    path.write_text('<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n")


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    tmp.replace(path)
