"""torchrun whose servers listen on this host's cluster address only.

    python -m training.launch --standalone --nproc-per-node 2 -m training.train --data ...
    python -m training.launch --nnodes 2 --rdzv-endpoint HOST:PORT ... (one per host)

Takes torchrun's flags unchanged. torch's TCPStore server listens on every interface whatever
host it is given (its libuv server binds "::" or "0.0.0.0"; see TCPStoreLibUvBackend.cpp), and
a torchrun agent starts two: the c10d rendezvous store and the store its workers bootstrap from
(MASTER_ADDR/MASTER_PORT). A server handed an already bound socket (``master_listen_fd``) listens
on that socket's address alone. So ``--standalone`` and ``--rdzv-backend c10d`` run here on the
``reid`` rendezvous backend: the c10d rendezvous with both stores made that way, on the address
jobs reach the cluster from (:func:`hadoop.netaddr.job_address`: loopback on the local cluster)
or, for several hosts, the endpoint's. The workers' gloo/NCCL sockets get that address's
interface (``GLOO_SOCKET_IFNAME``/``NCCL_SOCKET_IFNAME``) unless the environment names one.

A worker that fails has said why on stderr (a user error is one ``error:`` line); the launcher
then adds one line naming the failed ranks, not torchrun's traceback and table, and exits with
the first failed worker's exit code (2 for a user error; 128 + N for a worker killed by signal N).
"""

from __future__ import annotations

import argparse
import fcntl
import ipaddress
import os
import socket
import struct
import sys
import uuid
from datetime import timedelta

import torch.distributed as dist
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.elastic.rendezvous import (
    RendezvousHandler,
    RendezvousParameters,
    rendezvous_handler_registry,
)
from torch.distributed.elastic.rendezvous.c10d_rendezvous_backend import C10dRendezvousBackend
from torch.distributed.elastic.rendezvous.dynamic_rendezvous import (
    DynamicRendezvousHandler,
    RendezvousTimeout,
)
from torch.distributed.elastic.rendezvous.utils import parse_rendezvous_endpoint
from torch.distributed.run import get_args_parser, run

from hadoop.netaddr import job_address

BACKEND = "reid"
DEFAULT_RENDEZVOUS_PORT = 29400  # torchrun's c10d default
_SIOCGIFADDR = 0x8915


def bound_store(host: str, port: int, timeout: timedelta) -> dist.TCPStore:
    """A TCPStore server listening on ``host:port`` only (port 0: a free one)."""
    listener = socket.create_server((host, port))
    bound_port = listener.getsockname()[1]
    return dist.TCPStore(host, bound_port, is_master=True, multi_tenant=True, timeout=timeout,
                         master_listen_fd=listener.detach())


class _Backend(C10dRendezvousBackend):
    """torch's c10d rendezvous state, under this backend's name (torchrun checks it)."""

    @property
    def name(self) -> str:
        return BACKEND


class _BoundStoreRendezvousHandler(DynamicRendezvousHandler):
    """torch's dynamic rendezvous, with the workers' bootstrap store bound to this node's
    address (torch's own creates it listening on every interface)."""

    def _create_tcp_store_server(self, master_addr: str, master_port: int) -> dist.TCPStore:
        return bound_store(master_addr, master_port, timedelta(seconds=300))


def _timeout(params: RendezvousParameters, key: str) -> timedelta | None:
    seconds = params.get_as_int(f"{key}_timeout")
    return None if seconds is None else timedelta(seconds=seconds)


def create_handler(params: RendezvousParameters) -> RendezvousHandler:
    """torch's c10d rendezvous (same flags, same ``--rdzv-conf`` timeouts) on bound stores.

    The agent that can bind the endpoint hosts its store; the others (other hosts, or a second
    agent on this one) connect to it, as torch's c10d backend decides with ``is_host``.
    """
    host, port = parse_rendezvous_endpoint(params.endpoint, DEFAULT_RENDEZVOUS_PORT)
    read_timeout = timedelta(seconds=params.get_as_int("read_timeout", 60) or 60)
    store: dist.TCPStore
    try:
        store = bound_store(host, port, read_timeout)
    except OSError:  # not this host's address, or already hosted here
        store = dist.TCPStore(host, port, is_master=False, multi_tenant=True,
                              timeout=read_timeout)
    backend = _Backend(store, params.run_id)
    timeout = RendezvousTimeout(*(_timeout(params, key)
                                  for key in ("join", "last_call", "close", "heartbeat")))
    return _BoundStoreRendezvousHandler.from_backend(
        params.run_id, store, backend, params.min_nodes, params.max_nodes, params.local_addr,
        timeout)


def interface_of(address: str) -> str | None:
    """The network interface that holds ``address`` (``lo`` for any loopback address)."""
    if ipaddress.ip_address(address).is_loopback:
        return "lo"
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                reply = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR,
                                    struct.pack("256s", name[:15].encode()))
            except OSError:  # no IPv4 address on this interface
                continue
        if socket.inet_ntoa(reply[20:24]) == address:
            return name
    return None


def torchrun_args(argv: list[str], address: str) -> argparse.Namespace:
    """torchrun's own parse of ``argv``, with its c10d rendezvous moved onto ``reid``."""
    args = get_args_parser().parse_args(argv)
    if args.standalone:  # torchrun would host its store on localhost:0, every interface
        args.standalone = False
        args.rdzv_backend, args.rdzv_endpoint = BACKEND, f"{address}:0"
        args.rdzv_id = str(uuid.uuid4())
    elif args.rdzv_backend == "c10d":
        args.rdzv_backend = BACKEND
    if args.rdzv_backend == BACKEND:
        args.local_addr = args.local_addr or address  # the workers' MASTER_ADDR
    return args


def failure_summary(exc: ChildFailedError) -> tuple[str, int]:
    """One line naming every failed rank, and the exit code the launcher should end with."""
    rank, first = exc.get_first_failure()
    parts = []
    for failed_rank, failure in sorted(exc.failures.items()):
        how = (f"killed by signal {-failure.exitcode}" if failure.exitcode < 0
               else f"exit code {failure.exitcode}")
        parts.append(f"rank {failed_rank} (pid {failure.pid}) {how}")
    code = 128 - first.exitcode if first.exitcode < 0 else first.exitcode or 1
    return (f"error: {exc.name}: {len(exc.failures)} worker(s) failed: {'; '.join(parts)} "
            f"(first: rank {rank}; its own message is above)", code)


def main(argv: list[str] | None = None) -> int:
    address = job_address()
    args = torchrun_args(sys.argv[1:] if argv is None else argv, address)
    interface = interface_of(address)
    if interface:
        for name in ("GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME"):
            os.environ.setdefault(name, interface)
    rendezvous_handler_registry.register(BACKEND, create_handler)
    try:
        run(args)
    except ChildFailedError as exc:
        line, code = failure_summary(exc)
        print(line, file=sys.stderr)
        return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
