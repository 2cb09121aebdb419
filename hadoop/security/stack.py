"""The secure profile in docker-compose (``docker-compose.secure.yml``): where each container
finds the realm, its keytab and the secured configuration.

The ``kdc`` container (``python3 -m hadoop.container kdc``) makes what the local launcher's
``SecureProfile.prepare`` makes, with the same functions (``create_realm``, ``make_secrets``,
``write_conf``), for the stack's address plan: every host is ``<name>.reid.test`` at its
``compose_ip`` (each container's ``extra_hosts`` name them all, so forward and reverse lookups
agree for Java and MIT Kerberos alike), and the KDC listens at ``KDC_IP``. Named volumes:

  kdc             the realm's database: the kdc container only;
  security        krb5.conf, ``conf/`` (HADOOP_CONF_DIR of daemons and clients), the HTTPS
                  keystore, trust store and ``ca.pem``: every secured container, read-only;
  <name>-keytab   one per HDFS host and per user (``reid``, ``intruder``): the kdc writes it,
                  only the containers of that host (user) mount it, at ``keytab_mount(name)``.

Standard library only, like hadoop.container (the HDFS image has Debian's python3, no venv);
``admin_http`` needs Debian's python3-gssapi, which the image has.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from hadoop.jvm import hadoop_env, java_command
from hadoop.security.kdc import KDC_PORT, Kdc, kinit
from hadoop.security.names import (
    DOMAIN,
    REALM,
    SERVICE_GROUP,
    SERVICE_USER,
    compose_host_name,
    service_principals,
    user_principal,
)
from hadoop.security.profile import create_realm, make_secrets, tls_password, write_conf
from hadoop.topology import Host, RackTable

if TYPE_CHECKING:
    from hadoop.security.http import SpnegoHttp

KDC_NAME = "kdc"
KDC_IP = "172.28.0.5"  # in compose's subnet, below every racks.csv address
SECURITY_DIR = Path("/reid/security")
CONF_DIR = SECURITY_DIR / "conf"
KRB5_CONF = SECURITY_DIR / "krb5.conf"
CAFILE = SECURITY_DIR / "ca.pem"
KDC_DIR = Path("/reid/kdc")
KEYTAB_DIR = Path("/reid/keytabs")  # a keytab volume per dir: all in the kdc, one or two else
CCACHE = Path("/tmp/krb5cc_reid")  # the service user's ticket cache in jobs containers
SECURITY_DIR_VAR = "REID_SECURITY_DIR"  # set in every secured container (and only there)
# what the launcher's _create_base_directories makes too: the datasets' root and the service
# user's home, owner and group only (frames are biometric data)
SERVICE_DIRECTORIES = ("/reid", f"/user/{SERVICE_USER}")
_BASE_DONE = "base-directories-made"  # marker in the NameNode's data volume


def enabled() -> bool:
    """Whether this container runs in the secure overlay."""
    return bool(os.environ.get(SECURITY_DIR_VAR))


def servers(table: RackTable) -> tuple[Host, ...]:
    """The stack's HDFS hosts: the first NameNode and the DataNodes (as docker-compose.yml)."""
    return (table.namenode, *table.datanodes)


def keytab_volume(name: str) -> str:
    return f"{name}-keytab"


def keytab(name: str) -> Path:
    """The keytab of host or user ``name``, in its volume (mounted at ``keytab_mount``)."""
    return keytab_mount(name) / f"{name}.keytab"


def keytab_mount(name: str) -> Path:
    return KEYTAB_DIR / name


def prepare_kdc(base_conf: Path, table: RackTable) -> Kdc:
    """The realm with every principal and keytab, the keystores, krb5.conf and the merged conf
    dir, reusing the realm and keystores a previous start made; the KDC to run."""
    kdc = Kdc(KDC_DIR, REALM, DOMAIN, KDC_IP)
    if not kdc.exists():
        create_realm(kdc, servers(table), keytab, compose_host_name)
    if not CAFILE.exists():
        make_secrets(SECURITY_DIR, [compose_host_name(h) for h in servers(table)],
                     [h.compose_ip for h in servers(table)])
    shutil.copy2(kdc.krb5_conf, KRB5_CONF)
    write_conf(base_conf, CONF_DIR, SECURITY_DIR)
    return kdc


def kdc_ready() -> bool:
    """The kdc container's health: its files written and the KDC answering on TCP."""
    if not (CONF_DIR / "core-site.xml").is_file():
        return False
    try:
        socket.create_connection((KDC_IP, KDC_PORT), timeout=2).close()
    except OSError:
        return False
    return True


def daemon_env() -> dict[str, str]:
    """What a daemon's environment lacks that compose cannot know: the keystore password the
    kdc container chose."""
    return {"REID_TLS_PASSWORD": tls_password(SECURITY_DIR)}


def admin_http(host: Host) -> SpnegoHttp:
    """HTTPS + SPNEGO as ``host``'s own daemon principal (its health check)."""
    from hadoop.security.http import SpnegoHttp

    return SpnegoHttp(CAFILE, service_principals(host, compose_host_name)[0], keytab(host.name))


def make_base_directories(table: RackTable, conf_dir: Path, data_dir: Path) -> None:
    """/tmp, /user and the service user's directories, made as the HDFS superuser (the
    NameNode's principal) with the Java client; a marker in the NameNode's volume records it."""
    nn = table.namenode
    ccache = Path("/tmp/krb5cc_hdfs")
    kinit(service_principals(nn, compose_host_name)[0], keytab(nn.name), ccache)
    env = hadoop_env(conf_dir, {"KRB5CCNAME": f"FILE:{ccache}"})
    for args in (["-mkdir", "-p", "/tmp", "/user", *SERVICE_DIRECTORIES],
                 ["-chmod", "1777", "/tmp"], ["-chmod", "755", "/user"],
                 ["-chmod", "750", *SERVICE_DIRECTORIES],
                 ["-chown", f"{SERVICE_USER}:{SERVICE_GROUP}", *SERVICE_DIRECTORIES]):
        subprocess.run(java_command("dfs", args, conf_dir=conf_dir), env=env, check=True,
                       timeout=300, stdout=subprocess.DEVNULL)
    (data_dir / _BASE_DONE).touch()


def base_directories_made(data_dir: Path) -> bool:
    return (data_dir / _BASE_DONE).exists()


def login(command: list[str]) -> None:
    """A jobs container's start: the service user's ticket from its keytab into ``CCACHE``
    (KRB5CCNAME; tickets last a day: restart the container to renew), the realm's krb5.conf
    as /etc/krb5.conf (the JVMs of Spark executors read no KRB5_CONFIG), then ``command``."""
    kinit(user_principal(SERVICE_USER), keytab(SERVICE_USER), CCACHE)
    shutil.copy2(KRB5_CONF, "/etc/krb5.conf")
    os.execvp(command[0], command)
