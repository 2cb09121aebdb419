"""A background reader that proves reads survive faults.

It keeps reading random ranges of files whose contents it knows, through the project's read
path (``hadoop.fs``), and counts every read that failed or returned wrong bytes. The fault tests
and ``benchmarks/faults.py`` run one while they kill DataNodes, stop racks or corrupt replicas.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping

from hadoop.fs.base import FileSystem
from hadoop.fs.errors import StorageError


class ReadProbe(threading.Thread):
    def __init__(self, fs: FileSystem, contents: Mapping[str, bytes], *, max_length: int,
                 seed: int = 11) -> None:
        super().__init__(name="read-probe", daemon=True)
        self.fs = fs
        self.contents = dict(contents)
        self.max_length = max_length
        self.seed = seed
        self.reads = 0
        self.failures = 0
        self.errors: list[str] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        rng = random.Random(self.seed)
        paths = sorted(self.contents)
        while not self._stop_event.is_set():
            path = rng.choice(paths)
            content = self.contents[path]
            offset = rng.randrange(len(content))
            length = rng.randrange(1, min(len(content) - offset, self.max_length) + 1)
            try:
                ok = self.fs.read_range(path, offset, length) == content[offset:offset + length]
                if not ok:
                    self.errors.append(f"wrong bytes: {path} [{offset}, +{length})")
            except StorageError as exc:
                ok = False
                self.errors.append(repr(exc))
            self.reads += 1
            self.failures += not ok

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=120)

    def __enter__(self) -> ReadProbe:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
