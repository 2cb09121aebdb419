"""Host names for the loopback aliases, as a marked block of ``/etc/hosts`` lines.

Kerberos needs every daemon's address to resolve to a name and back. The launcher writes one
block per loopback /24 (so several checkouts' clusters coexist), between marker comments naming
the run directory, and removes exactly that block on ``down``. ``/etc/hosts`` is rewritten in
place under a lock: in a container it is a bind mount, which a rename would not replace.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable
from pathlib import Path

from hadoop.errors import SecurityError

HOSTS_FILE = Path("/etc/hosts")
_LOCK = Path("/tmp/reid-hdfs-etc-hosts.lock")


def _markers(net: str) -> tuple[str, str]:
    return (f"# reid-hdfs {net} begin: written by python -m hadoop.cluster, removed by `down`",
            f"# reid-hdfs {net} end")


def _without_block(lines: list[str], net: str) -> list[str]:
    begin, end = _markers(net)
    kept, inside = [], False
    for line in lines:
        if line.strip() == begin:
            inside = True
        elif inside and line.strip() == end:
            inside = False
        elif not inside:
            kept.append(line)
    return kept


def _rewrite(net: str, block: list[str], hosts_file: Path) -> None:
    try:
        with _LOCK.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with hosts_file.open("r+") as handle:
                lines = _without_block(handle.read().splitlines(), net) + block
                handle.seek(0)
                handle.write("\n".join(lines) + "\n")
                handle.truncate()
    except OSError as exc:
        raise SecurityError(f"cannot update {hosts_file} ({exc.strerror}): the secure profile "
                            "names each loopback alias there and needs root") from exc


def write_block(net: str, entries: Iterable[tuple[str, str]], note: str,
                hosts_file: Path = HOSTS_FILE) -> None:
    """Replace this net's block with ``address name`` lines (``note`` says whose they are)."""
    begin, end = _markers(net)
    _rewrite(net, [begin, f"# {note}", *(f"{ip} {name}" for ip, name in entries), end],
             hosts_file)


def remove_block(net: str, hosts_file: Path = HOSTS_FILE) -> None:
    _rewrite(net, [], hosts_file)


def has_block(net: str, hosts_file: Path = HOSTS_FILE) -> bool:
    try:
        return _markers(net)[0] in hosts_file.read_text()
    except OSError:
        return False
