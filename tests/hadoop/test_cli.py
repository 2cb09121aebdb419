"""The one CLI wrapper: a user error is one line and exit 2; a bug keeps its traceback."""

from __future__ import annotations

import pytest

from hadoop.cli import run
from hadoop.errors import ClusterError, ReidError


def _fails(argv: list[str]) -> int:
    raise ClusterError(f"bad flag {argv[0]}")


def test_user_error_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_fails, ["--x"]) == 2
    err = capsys.readouterr().err
    assert err == "error: bad flag --x\n"


def test_debug_keeps_the_traceback() -> None:
    with pytest.raises(ReidError, match="bad flag --x"):
        run(_fails, ["--x", "--debug"])


def test_a_bug_is_not_swallowed() -> None:
    def buggy(argv: list[str]) -> int:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        run(buggy, [])


def test_main_return_code_passes_through() -> None:
    assert run(lambda argv: 3, []) == 3
    assert run(lambda argv: None, []) == 0


def test_a_message_of_several_lines_is_printed_on_one(capsys: pytest.CaptureFixture[str]) -> None:
    def fails(argv: list[str]) -> int:
        raise ClusterError("dn3 did not start; log tail:\n  line 1\n  line 2")

    assert run(fails, []) == 2
    assert capsys.readouterr().err == "error: dn3 did not start; log tail: line 1 line 2\n"


def test_exit_process_keeps_the_code_while_a_deadline_call_still_runs() -> None:
    """A call past its deadline may still be inside the Rust HDFS client at exit; the process
    must still end promptly with the wrapper's code and its message (not SIGABRT)."""
    import subprocess
    import sys
    import time

    script = (
        "import sys, time\n"
        "from hadoop.cli import exit_process\n"
        "from hadoop.fs.watch import call_with_deadline, deadline_calls_running\n"
        "assert not call_with_deadline(lambda: time.sleep(30), 0.05).ok\n"
        "assert deadline_calls_running()\n"
        "print('error: the NameNode did not answer', file=sys.stderr)\n"
        "exit_process(2)\n")
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.endswith("error: the NameNode did not answer\n")
    assert time.monotonic() - began < 20
