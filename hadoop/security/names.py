"""Names of the secure profile: the realm, each loopback alias's host name, the principals.

Kerberos service principals are ``service/host@REALM`` and Hadoop fills ``_HOST`` in with the
name of the address a daemon serves on, so every alias needs a name that resolves both ways.
The local launcher's names carry the loopback /24 (``REID_LOOPBACK_NET``) so that clusters of
several checkouts on one machine never share a name: ``dn1`` at 127.0.4.11 is
``dn1.n0-4.reid.test``. In docker-compose each host is a container of its own on the stack's
network, so its name is just ``dn1.reid.test`` (``compose_host_name``).
"""

from __future__ import annotations

from collections.abc import Callable

from hadoop.topology import Host

REALM = "REID.TEST"
DOMAIN = "reid.test"
SERVICE_USER = "reid"  # the principal that owns /reid and runs ingest, training, evaluation
SERVICE_GROUP = "reid"
INTRUDER = "intruder"  # a valid principal with no business in /reid (the attack tests use it)
_SERVICES = {"namenode": ("nn", "HTTP"), "datanode": ("dn", "HTTP")}
HostNamer = Callable[[Host], str]  # a deployment's fully qualified name of each host


def host_name(host: Host) -> str:
    """The fully qualified name of ``host``'s loopback alias."""
    _, second, third, _ = host.local_ip.split(".")
    return f"{host.name}.n{second}-{third}.{DOMAIN}"


def compose_host_name(host: Host) -> str:
    """The fully qualified name of ``host``'s container in docker-compose."""
    return f"{host.name}.{DOMAIN}"


def service_principals(host: Host, namer: HostNamer = host_name) -> list[str]:
    """The principals whose keys ``host``'s daemon holds in its keytab."""
    return [f"{service}/{namer(host)}@{REALM}" for service in _SERVICES.get(host.role, ())]


def user_principal(user: str) -> str:
    return f"{user}@{REALM}"
