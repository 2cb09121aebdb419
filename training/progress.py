"""Progress of a long loop: a tqdm bar on a terminal, one log line every few seconds otherwise.

A bar redrawn in a log file (torchrun's, a batch scheduler's, ``> train.log``) turns into
thousands of frames glued together by carriage returns; without a terminal the same figures are
printed to stderr as plain, time-stamped lines at a fixed interval instead, plus one when the
loop ends (printed, not logged: a command that configures no logging still shows them).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from tqdm import tqdm

EVERY_S = 30.0  # default seconds between progress lines without a terminal


class Progress:
    """``update(n, **figures)`` per item; ``close()`` at the end. Disabled: does nothing."""

    def __init__(self, total: int, *, initial: int = 0, unit: str = "step", desc: str = "",
                 enabled: bool = True, every_s: float = EVERY_S, tty: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.done, self.unit, self.desc = total, initial, unit, desc
        self.enabled, self.every_s, self.clock = enabled, every_s, clock
        self.figures: dict[str, object] = {}
        self.began = self.last_line = clock()
        self.start = initial
        self.pending = False  # items counted since the last line
        tty = sys.stderr.isatty() if tty is None else tty  # where tqdm draws
        self.bar = tqdm(total=total, initial=initial, unit=unit, desc=desc or None) \
            if enabled and tty else None

    def update(self, n: int = 1, **figures: object) -> None:
        if not self.enabled:
            return
        self.done += n
        self.figures = figures
        if self.bar is not None:
            self.bar.set_postfix(figures, refresh=False)
            self.bar.update(n)
            return
        self.pending = True
        if self.clock() - self.last_line >= self.every_s:
            self._line()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and self.pending:
            self._line()

    def _line(self) -> None:
        now = self.clock()
        self.last_line, self.pending = now, False
        elapsed = now - self.began
        rate = (self.done - self.start) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else None
        figures = "".join(f" {key} {value}" for key, value in self.figures.items())
        print(f"{datetime.now():%Y-%m-%d %H:%M:%S} {self.desc or 'progress'}: {self.done}/"
              f"{self.total} {self.unit}s ({100 * self.done / max(1, self.total):.0f}%)"
              f"{figures}; {rate:.2f} {self.unit}s/s, elapsed {_clock(elapsed)}, eta "
              f"{'-' if eta is None else _clock(eta)}", file=sys.stderr, flush=True)


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))
