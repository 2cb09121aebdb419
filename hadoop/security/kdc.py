"""The secure profile's KDC: Debian's MIT Kerberos (``krb5-kdc``), all state under the run dir.

MIT's KDC rather than Hadoop's MiniKdc: it is the KDC (and ``kinit``, ``klist``) that real
deployments and the GSSAPI library of the Python clients (hdfs-native links ``libgssapi_krb5``)
already use, it starts in milliseconds with no JVM on a 2-core machine, and its ``kadmin.local``
makes principals and keytabs the way a company's administrators do. Its database, stash, log,
krb5.conf and keytabs live in one directory; nothing in /etc/krb5* is touched.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from hadoop.errors import SecurityError

KDC_PORT = 88
_TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit")
_PACKAGES = "krb5-kdc krb5-admin-server krb5-user"


def krb5_conf(realm: str, domain: str, kdc_address: str) -> str:
    """A client krb5.conf: one realm, its KDC over TCP, no DNS lookups (names are /etc/hosts')."""
    return f"""[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    udp_preference_limit = 1
    ticket_lifetime = 24h
    renew_lifetime = 7d
    forwardable = true

[realms]
    {realm} = {{
        kdc = {kdc_address}:{KDC_PORT}
    }}

[domain_realm]
    .{domain} = {realm}
    {domain} = {realm}
"""


class Kdc:
    """One realm's KDC, listening on ``address``:88, with its files in ``directory``."""

    def __init__(self, directory: Path, realm: str, domain: str, address: str) -> None:
        self.directory = directory
        self.realm = realm
        self.address = address
        self.krb5_conf = directory / "krb5.conf"
        self.kdc_conf = directory / "kdc.conf"
        self.pid_file = directory / "krb5kdc.pid"
        self.log_file = directory / "krb5kdc.log"
        self._domain = domain

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KRB5_CONFIG": str(self.krb5_conf),
                "KRB5_KDC_PROFILE": str(self.kdc_conf)}

    def exists(self) -> bool:
        return (self.directory / "principal").exists()

    def create(self, keytabs: dict[Path, list[str]]) -> None:
        """A new realm database with a random master key, each principal with random keys, and
        each keytab holding its principals' keys (mode 0600)."""
        _require_tools()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        self.krb5_conf.write_text(krb5_conf(self.realm, self._domain, self.address))
        self.kdc_conf.write_text(self._kdc_conf())
        (self.directory / "kadm5.acl").write_text("")
        self._run(["kdb5_util", "-r", self.realm, "create", "-s", "-P",
                   secrets.token_urlsafe(24)], "creating the realm database")
        script = []
        for keytab, principals in keytabs.items():
            keytab.unlink(missing_ok=True)
            script += [f"addprinc -randkey {p}" for p in principals]
            script.append(f"ktadd -k {keytab} {' '.join(principals)}")
        self._run(["kadmin.local", "-r", self.realm], "adding principals",
                  stdin="\n".join(script) + "\n")
        for keytab in keytabs:
            if not keytab.exists():
                raise SecurityError(f"kadmin.local wrote no keytab {keytab}; see {self.log_file}")
            keytab.chmod(0o600)

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if str(self.pid_file).encode() in cmdline else None

    def command(self) -> list[str]:
        """krb5kdc in the foreground (the launcher runs it in the background, the compose
        stack's kdc container as its main process)."""
        return ["krb5kdc", "-n", "-r", self.realm, "-P", str(self.pid_file)]

    def start(self, timeout: float = 15.0) -> None:
        """Start krb5kdc unless it runs; wait until it accepts TCP connections."""
        if self.pid() is None:
            self.pid_file.unlink(missing_ok=True)
            with self.log_file.open("ab") as log:
                subprocess.Popen(self.command(), env=self.env, stdout=log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.address, KDC_PORT), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SecurityError(f"the KDC did not listen on {self.address}:{KDC_PORT} within "
                            f"{timeout:.0f} s; see {self.log_file}")

    def stop(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kinit(self, principal: str, keytab: Path, ccache: Path) -> None:
        """Put a ticket for ``principal`` (from its keytab) into the file cache ``ccache``."""
        kinit(principal, keytab, ccache, self.env)

    def _kdc_conf(self) -> str:
        d = self.directory
        return f"""[kdcdefaults]
    kdc_listen = {self.address}:{KDC_PORT}
    kdc_tcp_listen = {self.address}:{KDC_PORT}

[realms]
    {self.realm} = {{
        database_name = {d}/principal
        key_stash_file = {d}/stash
        acl_file = {d}/kadm5.acl
        max_life = 24h
        max_renewable_life = 7d
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}

[logging]
    kdc = FILE:{self.log_file}
    default = FILE:{self.log_file}
"""

    def _run(self, cmd: list[str], what: str, stdin: str | None = None) -> None:
        _run(cmd, what, self.env, stdin)


def kinit(principal: str, keytab: Path, ccache: Path, env: dict[str, str] | None = None) -> None:
    """Put a ticket for ``principal`` (from its keytab) into the file cache ``ccache`` (0600),
    with the realm of ``env``'s KRB5_CONFIG (this process's by default)."""
    _run(["kinit", "-k", "-t", str(keytab), "-c", f"FILE:{ccache}", principal],
         f"kinit {principal}", env or dict(os.environ))
    ccache.chmod(0o600)


def _run(cmd: list[str], what: str, env: dict[str, str], stdin: str | None = None) -> None:
    done = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True,
                          timeout=60, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SecurityError(f"{what} failed (`{cmd[0]}` exit {done.returncode}): {detail[0]}")


def _require_tools() -> None:
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        raise SecurityError(f"the secure profile needs MIT Kerberos ({', '.join(missing)} not "
                            f"found): run `make setup` or `apt-get install {_PACKAGES}`")
