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
