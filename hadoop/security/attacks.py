"""What an attacker gets from the cluster: the attacks of issue 24, run against a live cluster.

Each attack is a list of operations tried with one identity; an operation is *allowed* when it
returns instead of raising (or, for the Java tool and HTTP, exits 0 / answers 2xx). The attack
tests assert every count is zero on the secure profile, and ``benchmarks/secure.py`` reports
them:

- ``unauthenticated``: no Kerberos ticket at all (hdfs-native and the hdfs tool, with and
  without ``HADOOP_USER_NAME=root``), and anonymous HTTP(S): WebHDFS, /jmx, /conf;
- ``spoofed``: a valid ticket of another principal (``intruder``), alone and claiming to be
  root with ``HADOOP_USER_NAME``, against the datasets under /reid;
- ``cleartext``: a frame written and read while a packet capture on the loopback (or, in a
  compose container, its eth0) runs; the frame's JPEG bytes must not be in the DataNodes'
  streams.

``against`` runs all but the capture, for the local launcher's cluster and the compose stack.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from hadoop.fs import HdfsFS
from hadoop.fs.hdfs import RetryPolicy
from hadoop.security.kdc import kinit
from hadoop.security.names import INTRUDER, user_principal
from hadoop.security.profile import keytab_client

_ATTACKER_RETRY = RetryPolicy(attempts=1, connect_s=2.0, namenode_wait_s=2.0)
DATANODE_PORTS = (9866,)


@dataclass(frozen=True)
class Attempt:
    attack: str
    operation: str
    allowed: bool
    answer: str  # what came back, one line

    def render(self) -> str:
        return f"{self.attack:<14} {self.operation:<44} {'ALLOWED' if self.allowed else 'refused'}"\
               f"  {self.answer[:110]}"


@contextlib.contextmanager
def environment(**changes: str | None) -> Iterator[None]:
    """Set (or, with None, remove) environment variables for the block: hdfs-native and MIT
    Kerberos read HADOOP_USER_NAME and KRB5CCNAME when a client connects."""
    saved = {key: os.environ.get(key) for key in changes}
    try:
        for key, value in changes.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _try(attack: str, operation: str, call: Callable[[], object]) -> Attempt:
    try:
        result = call()
    except Exception as exc:  # a refusal of any kind is the expected outcome
        return Attempt(attack, operation, False, f"{type(exc).__name__}: " + " ".join(
            str(exc).split())[:200])
    return Attempt(attack, operation, True, repr(result)[:200])


def filesystem_operations(attack: str, fs: HdfsFS, target: str) -> list[Attempt]:
    """Reads, writes and deletes around ``target`` (a frame file under /reid)."""
    folder = target.rsplit("/", 1)[0]
    return [
        _try(attack, "list /reid", lambda: fs.list("/reid")),
        _try(attack, f"stat {target}", lambda: fs.status(target)),
        _try(attack, f"read {target}", lambda: fs.read_file(target)),
        _try(attack, f"write {folder}/planted", lambda: fs.write_file(f"{folder}/planted", b"x")),
        _try(attack, "chmod /reid 0777", lambda: fs.set_permission("/reid", 0o777)),
        _try(attack, f"delete {target}", lambda: fs.delete(target)),
    ]


def unauthenticated(url: str, target: str) -> list[Attempt]:
    """No ticket (an empty credential cache), as anyone and as root."""
    empty = f"FILE:{tempfile.gettempdir()}/reid-no-ticket-{os.getpid()}"
    found = []
    for claim, attack in ((None, "no ticket"), ("root", "no ticket+root")):
        with environment(KRB5CCNAME=empty, HADOOP_USER_NAME=claim):
            fs = HdfsFS(url, _ATTACKER_RETRY)
            found += [_try(attack, "list /", partial(fs.list, "/"))]
            found += filesystem_operations(attack, fs, target)
    return found


def spoofed(url: str, target: str, principal: str, keytab: Path) -> list[Attempt]:
    """A valid ticket of ``principal`` (no rights on /reid), alone and claiming root."""
    found = []
    for claim, attack in ((None, "other ticket"), ("root", "other+root")):
        with environment(HADOOP_USER_NAME=claim):
            fs = HdfsFS(url, _ATTACKER_RETRY, client_factory=keytab_client(principal, keytab))
            found += filesystem_operations(attack, fs, target)
    return found


def hdfs_tool(attack: str, args: list[str], env: dict[str, str]) -> Attempt:
    """``hadoop/bin/hdfs`` (the Java client) with ``env``: allowed when it exits 0."""
    tool = Path(__file__).resolve().parents[1] / "bin" / "hdfs"
    done = subprocess.run([str(tool), *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    answer = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    return Attempt(attack, "hdfs " + " ".join(args), done.returncode == 0, answer)


def anonymous_web(urls: list[tuple[str, str]], cafile: Path) -> list[Attempt]:
    """HTTP requests without credentials; ``urls`` are (method, url). Allowed: a 2xx answer."""
    context = ssl.create_default_context(cafile=str(cafile))
    found = []
    for method, url in urls:
        request = urllib.request.Request(url, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                found.append(Attempt("anonymous web", f"{method} {url}", True,
                                     f"HTTP {response.status}"))
        except urllib.error.HTTPError as exc:
            found.append(Attempt("anonymous web", f"{method} {url}", False, f"HTTP {exc.code}"))
        except OSError as exc:
            found.append(Attempt("anonymous web", f"{method} {url}", False,
                                 " ".join(str(exc).split())[:200]))
    return found


def web_requests(nn_http: str, nn_https: str, dn_https: str, target: str,
                 ) -> list[tuple[str, str]]:
    """The anonymous requests ``against`` makes: the NameNode's plain port (closed), WebHDFS
    reads and a delete claiming root, /jmx and /conf of the NameNode and a DataNode."""
    return [("GET", f"{nn_http}/jmx"), ("GET", f"{nn_https}/webhdfs/v1/reid?op=LISTSTATUS"),
            ("GET", f"{nn_https}/webhdfs/v1{target}?op=OPEN"),
            ("DELETE", f"{nn_https}/webhdfs/v1/reid?op=DELETE&recursive=true&user.name=root"),
            ("GET", f"{nn_https}/jmx"), ("GET", f"{nn_https}/conf"), ("GET", f"{dn_https}/jmx")]


def against(url: str, target: str, web: list[tuple[str, str]], cafile: Path,
            intruder_keytab: Path, scratch: Path) -> list[Attempt]:
    """Every attack but the capture on the cluster of NameNode ``url``: no ticket (hdfs-native
    and the Java tool, as anyone and as root), anonymous ``web`` requests, and the intruder's
    valid ticket (alone and claiming root) against ``target``, a frame under /reid. The
    realm is this process's (KRB5_CONFIG); ``scratch`` takes the intruder's ticket cache."""
    found = unauthenticated(url, target)
    no_ticket = {**os.environ, "HADOOP_USER_NAME": "root",
                 "KRB5CCNAME": f"FILE:{scratch}/no-such-ticket"}
    found.append(hdfs_tool("no ticket+root", ["dfs", "-rm", "-r", "-skipTrash", "/reid"],
                           no_ticket))
    found += anonymous_web(web, cafile)
    intruder = user_principal(INTRUDER)
    found += spoofed(url, target, intruder, intruder_keytab)
    ccache = scratch / "intruder.ccache"
    kinit(intruder, intruder_keytab, ccache)
    found.append(hdfs_tool("other+root", ["dfs", "-cat", target],
                           {**os.environ, "HADOOP_USER_NAME": "root",
                            "KRB5CCNAME": f"FILE:{ccache}"}))
    return found


def cleartext(fs: HdfsFS, path: str, frame: bytes, ports: tuple[int, ...] = DATANODE_PORTS,
              interface: str = "lo") -> Attempt:
    """Write and read back ``frame`` while capturing ``interface``; allowed (seen) when a
    48-byte run from the middle of the JPEG appears in a captured stream."""
    from hadoop.security.sniffer import LoopbackCapture

    needle = frame[len(frame) // 2:len(frame) // 2 + 48]
    fs.status("/")  # connect first: the capture covers block traffic, not the handshake's wait
    with LoopbackCapture(ports, interface) as capture:
        fs.write_file(path, frame, overwrite=True)
        fs.read_file(path)
        time.sleep(0.3)  # let the capture thread drain the socket
    seen = capture.contains(needle)
    return Attempt("capture", f"write+read {path} on {interface} ports {ports}", seen,
                   f"{capture.captured_bytes} bytes in {len(capture.flows)} streams, "
                   f"JPEG bytes {'FOUND' if seen else 'not found'}")
