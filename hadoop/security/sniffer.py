"""A packet capture on the loopback interface: what an attacker with root on a cluster host
(or a tap on the wire) sees of the HDFS traffic.

The secure profile's claim is that block data crosses the network encrypted. The attack tests
and ``benchmarks/secure.py`` check it the direct way: capture the DataNodes' TCP streams while a
client writes and reads a frame, and look for the frame's JPEG bytes in them. The same capture
on the plain profile must find them, which proves the capture itself works. Needs root
(an ``AF_PACKET`` socket), like tcpdump.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterable
from types import TracebackType

_ETH_P_ALL = 0x0003
_PACKET_OUTGOING = 4  # on lo every packet is seen twice: as sent and as received
_SO_RCVBUFFORCE = 33
_MAX_BYTES = 512 << 20


class LoopbackCapture:
    """Collects, in a background thread, the TCP payload of every connection on ``lo`` (or
    another ``interface``: a compose container's eth0) with one end at ``ports`` (any address),
    one byte string per direction of each connection."""

    def __init__(self, ports: Iterable[int], interface: str = "lo") -> None:
        self.ports = frozenset(ports)
        self.interface = interface
        self.flows: dict[tuple[str, int, str, int], bytearray] = {}
        self.packets = 0
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._total = 0

    def __enter__(self) -> LoopbackCapture:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
        try:
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, 64 << 20)
        except PermissionError:  # a container has NET_RAW but not NET_ADMIN: the capped size
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
        sock.bind((self.interface, 0))
        sock.settimeout(0.2)
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name="loopback-capture", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()

    @property
    def captured_bytes(self) -> int:
        return self._total

    def contains(self, needle: bytes) -> bool:
        """Whether ``needle`` appears in the cleartext of any captured stream."""
        return any(needle in flow for flow in self.flows.values())

    def _run(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                frame, address = self._sock.recvfrom(262144)
            except TimeoutError:
                continue
            except OSError:
                return
            if address[2] != _PACKET_OUTGOING or self.interface != "lo":
                self._take(frame)

    def _take(self, frame: bytes) -> None:
        if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:  # IPv4, TCP
            return
        ihl = (frame[14] & 0x0F) * 4
        total = struct.unpack_from("!H", frame, 16)[0]
        tcp = 14 + ihl
        sport, dport = struct.unpack_from("!HH", frame, tcp)
        if sport not in self.ports and dport not in self.ports:
            return
        payload = frame[tcp + (frame[tcp + 12] >> 4) * 4:14 + total]
        if not payload or self._total >= _MAX_BYTES:
            return
        key = (socket.inet_ntoa(frame[26:30]), sport, socket.inet_ntoa(frame[30:34]), dport)
        self.flows.setdefault(key, bytearray()).extend(payload)
        self._total += len(payload)
        self.packets += 1
