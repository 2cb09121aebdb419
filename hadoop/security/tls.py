"""Keystores for the daemons' HTTPS endpoints, made with the JDK's ``keytool``.

One self-signed certificate names every host of the cluster (host names and addresses as
subject alternative names), so each daemon serves the same key and clients trust one
certificate: ``truststore.p12`` for Java, ``ca.pem`` for Python. A company cluster replaces both
with certificates from its own CA; ssl-server.xml and ssl-client.xml keep pointing at them.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from hadoop.errors import SecurityError

TRUSTSTORE_PASSWORD = "reid-truststore"  # see ssl-server.xml: a trust store holds no secret
_ALIAS = "reid-hdfs"


def make_keystores(directory: Path, names: Iterable[str], addresses: Iterable[str],
                   validity_days: int = 30) -> str:
    """Write keystore.p12, truststore.p12 and ca.pem into ``directory``; return the keystore's
    (random) password, which only the daemons get."""
    keytool = shutil.which("keytool")
    if keytool is None:
        raise SecurityError("keytool (the JDK's) is not on PATH: install openjdk-17-jdk-headless")
    password = secrets.token_urlsafe(18)
    keystore, truststore = directory / "keystore.p12", directory / "truststore.p12"
    pem = directory / "ca.pem"
    for path in (keystore, truststore, pem):
        path.unlink(missing_ok=True)
    san = ",".join([*(f"dns:{n}" for n in names), *(f"ip:{a}" for a in addresses)])
    _keytool([keytool, "-genkeypair", "-alias", _ALIAS, "-keyalg", "RSA", "-keysize", "2048",
              "-validity", str(validity_days), "-dname", "CN=reid-hdfs, O=reid-hdfs",
              "-ext", f"SAN={san}", "-storetype", "PKCS12", "-keystore", str(keystore),
              "-storepass", password, "-keypass", password], "making the HTTPS key")
    _keytool([keytool, "-exportcert", "-rfc", "-alias", _ALIAS, "-keystore", str(keystore),
              "-storepass", password, "-file", str(pem)], "exporting the certificate")
    _keytool([keytool, "-importcert", "-noprompt", "-alias", _ALIAS, "-file", str(pem),
              "-storetype", "PKCS12", "-keystore", str(truststore),
              "-storepass", TRUSTSTORE_PASSWORD], "making the trust store")
    keystore.chmod(0o600)
    return password


def _keytool(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SecurityError(f"{what} with keytool failed: {detail[0]}")
