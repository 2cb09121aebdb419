"""The one wrapper every command line runs under.

A user error (:class:`~hadoop.errors.ReidError`) ends the command with one line on stderr,
``error: <message>``, and exit code 2, the code argparse uses for a bad flag; ``--debug``
anywhere on the command line keeps the traceback. Anything else is a bug and propagates with its
traceback. Ctrl-C exits 130 without one. Entry points are written as ``main(argv) -> int`` and
installed as console scripts through :func:`entry_point`.

A bad flag is a user error too: :class:`ArgumentParser` raises :class:`UsageError` instead of
printing its usage and exiting, and the argparse ``type=`` helpers below (:func:`positive_int`,
:func:`fraction`, ...) reject an out-of-range number at parse time with a message naming the
flag, before any cluster, dataset or process group is touched.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from hadoop.errors import ReidError

USER_ERROR = 2
INTERRUPTED = 130


class UsageError(ReidError):
    """A command line that cannot run: an unknown flag, a value out of range, flags that clash."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose errors are :class:`UsageError`, so :func:`run` reports them like
    every other user error: one line, exit 2 (``--help`` still prints the usage)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _number(kind: Callable[[str], float], text: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"must be {noun}, not {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        value = int(_number(int, text))
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, not {text}")
        return value

    parse.__name__ = f"int_at_least_{low}"
    return parse


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in ``low..high``."""

    def parse(text: str) -> int:
        value = int(_number(int, text))
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer in {low}..{high}, not {text}")
        return value

    parse.__name__ = f"int_in_{low}_{high}"
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    value = _number(float, text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, not {text}")
    return value


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    value = _number(float, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text}")
    return value


def fraction(text: str) -> float:
    """An argparse type: a probability or share, in [0, 1]."""
    value = _number(float, text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], not {text}")
    return value


def fraction_below_one(text: str) -> float:
    """An argparse type: a share that must leave something over, in [0, 1)."""
    value = _number(float, text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), not {text}")
    return value


def one_line(exc: BaseException) -> str:
    """The error's message on one line. An error raised in a worker process and re-raised by
    torch's DataLoader carries the worker's traceback in its message; the message the worker
    raised is that traceback's last line, and only it is kept."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) > 2 and lines[1].startswith("Original Traceback"):
        name = f"{type(exc).__name__}: "
        last = lines[-1]
        return last[last.index(name) + len(name):] if name in last else last
    return " ".join(" ".join(lines).split())


def run(main: Callable[[list[str]], int | None], argv: Sequence[str] | None = None) -> int:
    """Call ``main`` with ``argv`` (default: ``sys.argv[1:]``, less ``--debug``); map errors."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args = [a for a in args if a != "--debug"]
    try:
        return main(args) or 0
    except ReidError as exc:
        if debug:
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED


def exit_process(code: int) -> NoReturn:
    """End the process with ``code``, safely while an HDFS call given a deadline still runs.

    Such a call (see :func:`hadoop.fs.watch.call_with_deadline`) may still be inside the Rust
    HDFS client on a daemon thread, say one more connection attempt to a NameNode that is down.
    When that thread comes back into Python during interpreter shutdown, CPython ends it with
    ``pthread_exit``, whose unwinding through the Rust frames aborts the process ("FATAL:
    exception not rethrown", SIGABRT) and loses the exit code. So, only then, the output is
    flushed and the process ends without finalizing the interpreter.
    """
    watch = sys.modules.get("hadoop.fs.watch")  # never imported: no such call was made
    if watch is not None and watch.deadline_calls_running():
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(code)
    sys.exit(code)


def entry_point(main: Callable[[list[str]], int | None]) -> Callable[[], None]:
    """A console-script callable: ``exit_process(run(main))``."""

    def console_script() -> None:
        exit_process(run(main))

    console_script.__doc__ = main.__doc__
    return console_script
