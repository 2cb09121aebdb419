"""The loopback capture the secure profile's attack test relies on does see frames on the plain
profile: its 'no JPEG bytes' verdict there means encryption, not a blind capture."""

from __future__ import annotations

import numpy as np
import pytest
import simplejpeg

from hadoop.cluster import LocalCluster
from hadoop.fs import HdfsFS
from hadoop.security import attacks

pytestmark = pytest.mark.cluster


def test_a_plain_cluster_shows_frame_bytes_on_the_wire(cluster: LocalCluster) -> None:
    pixels = np.random.default_rng(1).integers(0, 255, (256, 128, 3), dtype=np.uint8)
    frame = bytes(simplejpeg.encode_jpeg(pixels, quality=90))
    seen = attacks.cleartext(HdfsFS(cluster.namenode_url), "/tmp/capture/frame.jpg", frame)
    print(seen.render())
    assert seen.allowed, seen.answer
