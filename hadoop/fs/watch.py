"""Calls that may block on the network: logged while they wait, or given a deadline.

``watching`` registers a call for its duration; one daemon thread per process logs every call
that has waited longer than its report interval (say a NameNode stopped answering mid-request),
so a job never stalls silently. Registering costs a dictionary update, nothing on the wire.
``call_with_deadline`` runs a call that cannot itself be interrupted (a request inside the Rust
client) on a daemon thread and stops waiting for it at the deadline.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger("hadoop.fs")
T = TypeVar("T")

_calls: dict[int, tuple[str, float, float]] = {}  # token -> (what, started, report every s)
_tokens = itertools.count()
_monitor_pid = -1
_monitor_lock = threading.Lock()


@contextmanager
def watching(what: str, report_s: float) -> Iterator[None]:
    """Log ``what`` every ``report_s`` seconds for as long as the block runs past that."""
    _ensure_monitor()
    token = next(_tokens)
    _calls[token] = (what, time.monotonic(), report_s)
    try:
        yield
    finally:
        del _calls[token]


def _ensure_monitor() -> None:
    global _monitor_pid
    if _monitor_pid == os.getpid():
        return
    with _monitor_lock:
        if _monitor_pid != os.getpid():  # first call in this process (or a forked child)
            threading.Thread(target=_monitor, name="hdfs-wait-monitor", daemon=True).start()
            _monitor_pid = os.getpid()


def _monitor() -> None:
    reported: dict[int, float] = {}
    while True:
        time.sleep(1.0)
        now = time.monotonic()
        for token, (what, started, report_s) in list(_calls.items()):
            waited = now - started
            if waited >= report_s and now - reported.get(token, started) >= report_s:
                log.warning("still waiting after %.0f s: %s", waited, what)
                reported[token] = now
        for token in [t for t in reported if t not in _calls]:
            del reported[token]


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a call with a deadline came to: ``ok`` with its value, its ``error``, or neither
    (no answer by the deadline; the call may still finish on its thread)."""

    ok: bool
    value: T | None = None
    error: BaseException | None = None


_deadline_threads: set[threading.Thread] = set()


def deadline_calls_running() -> bool:
    """Whether a call handed to :func:`call_with_deadline` is still running past its deadline
    (:func:`hadoop.cli.exit_process` then ends the process without finalizing it)."""
    return any(thread.is_alive() for thread in list(_deadline_threads))


def call_with_deadline(call: Callable[[], T], timeout_s: float) -> Outcome[T]:
    """Run ``call`` on a daemon thread and wait at most ``timeout_s`` for its outcome."""
    outcome: list[Outcome[T]] = []

    def run() -> None:
        try:
            outcome.append(Outcome(True, call()))
        except Exception as exc:  # handed to the caller as is
            outcome.append(Outcome(False, error=exc))

    thread = threading.Thread(target=run, name="hdfs-deadline-call", daemon=True)
    thread.start()
    thread.join(timeout_s)
    for finished in [t for t in _deadline_threads if not t.is_alive()]:
        _deadline_threads.discard(finished)
    if thread.is_alive():
        _deadline_threads.add(thread)
    return outcome[0] if outcome else Outcome(False)
