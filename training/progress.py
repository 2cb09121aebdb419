"""Progress of a long loop: a tqdm bar on a terminal, one log line every few seconds otherwise.

A bar redrawn in a log file (torchrun's, a batch scheduler's, ``> train.log``) turns into
thousands of frames glued together by carriage returns; without a terminal the same figures are
logged as plain lines at a fixed interval instead, plus one when the loop ends.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import timedelta

from tqdm import tqdm

logger = logging.getLogger("training.progress")
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
        logger.info("%s%d/%d %ss (%.0f%%)%s; %.2f %ss/s, elapsed %s, eta %s",
                    f"{self.desc}: " if self.desc else "", self.done, self.total, self.unit,
                    100 * self.done / max(1, self.total), figures, rate, self.unit,
                    _clock(elapsed), "-" if eta is None else _clock(eta))


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))
