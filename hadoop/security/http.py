"""HTTPS with Kerberos (SPNEGO), for the secure cluster's web endpoints (``/jmx``, WebHDFS).

In the secure profile every web endpoint is HTTPS only and answers 401 to a request without a
Kerberos ticket. The launcher's status and health checks read the NameNode's and DataNodes'
JMX through this client, with the ticket of whoever runs them (or a keytab's, for the
launcher). Python's ``gssapi`` binds MIT's libgssapi_krb5, the library hdfs-native uses too.
"""

from __future__ import annotations

import base64
import ssl
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gssapi

_SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")


class SpnegoHttp:
    """GET over HTTPS, trusting ``cafile``, authenticated with a Kerberos ticket: the default
    credential cache (KRB5CCNAME), or ``principal``'s key from ``keytab``."""

    def __init__(self, cafile: Path, principal: str | None = None,
                 keytab: Path | None = None) -> None:
        self.cafile = cafile
        self._context: ssl.SSLContext | None = None  # made on first use: after `up` wrote cafile
        self._principal = principal
        self._keytab = keytab

    def __call__(self, url: str, timeout: float) -> Any:
        """The open response to ``url`` (an OSError if the server refuses or is unreachable)."""
        host = urlsplit(url).hostname or ""
        try:
            target = gssapi.Name(f"HTTP@{host}", gssapi.NameType.hostbased_service)
            context = gssapi.SecurityContext(name=target, mech=_SPNEGO, usage="initiate",
                                             creds=self._credentials())
            token = context.step()
        except gssapi.exceptions.GSSError as exc:
            raise PermissionError(f"no Kerberos ticket for HTTP@{host} ({_gss_reason(exc)}): "
                                  "run kinit, see README 'Secure cluster'") from exc
        request = urllib.request.Request(
            url, headers={"Authorization": "Negotiate " + base64.b64encode(token or b"").decode()})
        if self._context is None:
            self._context = ssl.create_default_context(cafile=str(self.cafile))
        return urllib.request.urlopen(request, timeout=timeout, context=self._context)

    def _credentials(self) -> gssapi.Credentials | None:
        if self._keytab is None or self._principal is None:
            return None  # the default cache
        name = gssapi.Name(self._principal, gssapi.NameType.kerberos_principal)
        return gssapi.Credentials(name=name, usage="initiate",
                                  store={"client_keytab": str(self._keytab),
                                         "ccache": f"MEMORY:reid-{self._principal}"})


def _gss_reason(exc: gssapi.exceptions.GSSError) -> str:
    return " ".join(str(exc).split())[-160:]
