"""The /etc/hosts block of the secure profile: written per loopback /24, removed exactly."""

from __future__ import annotations

from pathlib import Path

from hadoop.security import hosts


def test_blocks_of_two_nets_are_written_and_removed_independently(tmp_path: Path) -> None:
    etc_hosts = tmp_path / "hosts"
    etc_hosts.write_text("127.0.0.1 localhost\n10.0.0.5 db\n")
    hosts.write_block("127.0.4", [("127.0.4.10", "namenode.n0-4.reid.test")], "run a",
                      etc_hosts)
    hosts.write_block("127.0.6", [("127.0.6.10", "namenode.n0-6.reid.test")], "run b",
                      etc_hosts)
    hosts.write_block("127.0.4", [("127.0.4.11", "dn1.n0-4.reid.test")], "run a", etc_hosts)
    text = etc_hosts.read_text()
    assert "127.0.4.11 dn1.n0-4.reid.test" in text
    assert "namenode.n0-4" not in text
    assert hosts.has_block("127.0.6", etc_hosts)
    hosts.remove_block("127.0.4", etc_hosts)
    hosts.remove_block("127.0.6", etc_hosts)
    assert etc_hosts.read_text() == "127.0.0.1 localhost\n10.0.0.5 db\n"
