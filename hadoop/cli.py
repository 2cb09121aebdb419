"""The one wrapper every command line runs under.

A user error (:class:`~hadoop.errors.ReidError`) ends the command with one line on stderr,
``error: <message>``, and exit code 2, the code argparse uses for a bad flag; ``--debug``
anywhere on the command line keeps the traceback. Anything else is a bug and propagates with its
traceback. Ctrl-C exits 130 without one. Entry points are written as ``main(argv) -> int`` and
installed as console scripts through :func:`run`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from hadoop.errors import ReidError

USER_ERROR = 2
INTERRUPTED = 130


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
        print(f"error: {exc}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED


def entry_point(main: Callable[[list[str]], int | None]) -> Callable[[], None]:
    """A console-script callable: ``sys.exit(run(main))``."""

    def console_script() -> None:
        sys.exit(run(main))

    console_script.__doc__ = main.__doc__
    return console_script
