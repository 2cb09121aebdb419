"""The secure profile's configuration: the shared site files with hadoop/conf/secure over them,
as Hadoop will read them (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hadoop.security.names import host_name, service_principals
from hadoop.security.profile import SecureProfile
from hadoop.siteconf import CONF_DIR, load_site
from hadoop.topology import load_rack_table


def test_the_layer_overrides_the_shared_files_and_keeps_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REID_LOOPBACK_NET", "127.0.4")
    table = load_rack_table(CONF_DIR / "racks.csv")
    profile = SecureProfile(tmp_path / "run", CONF_DIR, table)
    (tmp_path / "run").mkdir()
    profile._write_conf()
    dn1 = table.host("dn1")
    site = load_site(profile.conf_dir, {"REID_NAMENODE_HOST": table.namenode.local_ip,
                                        "REID_HOST": dn1.local_ip, "REID_HOSTNAME": host_name(dn1)})
    assert site["hadoop.security.authentication"] == "kerberos"
    assert site["hadoop.rpc.protection"] == "privacy"
    assert site["dfs.data.transfer.protection"] == "privacy"
    assert site["dfs.http.policy"] == "HTTPS_ONLY"
    assert site["dfs.datanode.hostname"] == "dn1.n0-4.reid.test"
    assert site["dfs.replication"] == "3"  # from the shared file, untouched
    assert site["dfs.namenode.rpc-address"] == f"{table.namenode.local_ip}:8020"
    ssl_server = (profile.conf_dir / "ssl-server.xml").read_text()
    assert f"{profile.dir}/keystore.p12" in ssl_server
    assert (profile.conf_dir / "topology.sh").exists()
    assert (profile.conf_dir / "ha-site.xml").exists()  # hadoop/bin/hdfs reads it
    assert service_principals(dn1) == ["dn/dn1.n0-4.reid.test@REID.TEST",
                                       "HTTP/dn1.n0-4.reid.test@REID.TEST"]
