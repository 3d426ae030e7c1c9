"""Progress within a block of work: how much is done, the rate and the time left.

A block protocol logs one line per finished block; a block can take minutes (the main
job's training) to an hour (an Atari block of 250 000 frames), so within a block a
:class:`Progress` shows each stage (a block's training, an evaluation) as it goes:

* on a terminal, one line that updates in place (a ``tqdm`` bar, cleared when the stage
  ends);
* anywhere else (a log file, a sweep worker's log, a notebook, CI), a plain line through
  the protocol's ``log`` at most every ``interval_s`` seconds, so that a log shows that a
  long stage is moving without filling up with carriage-return updates, which is what
  ``tqdm`` writes to a file. A stage shorter than ``interval_s`` prints nothing, and a
  silent ``log`` (the Python API's default) keeps the run silent.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


def format_duration(seconds: float) -> str:
    """``95`` -> ``'1 min 35 s'``; ``4000`` -> ``'1 h 07 min'``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """Stages of work, each with a total, shown as one updating line or plain lines.

    Parameters
    ----------
    log
        Where plain lines go when ``stream`` is not a terminal (the protocol's ``log``).
    stream
        The terminal to draw the updating line on; default ``sys.stderr``.
    interval_s
        Seconds between plain lines (and before the first one) within a stage.
    clock
        Seconds as a float (``time.monotonic``); tests pass their own.
    """

    def __init__(self, log: Callable[[str], None], stream: TextIO | None = None, interval_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.log, self.interval_s, self.clock = log, float(interval_s), clock
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.terminal = bool(isatty and isatty())
        self._bar = None
        self.description, self.total, self.unit, self.done = "", 0, "", 0
        self._started = self._last_line = 0.0

    def start(self, description: str, total: int, unit: str) -> None:
        """Begin a stage of ``total`` ``unit`` (``"presentations"``, ``"frames"``)."""
        self._close_bar()
        self.description, self.total, self.unit, self.done = description, int(total), unit, 0
        self._started = self._last_line = self.clock()
        if self.terminal:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=description, unit=f" {unit}", leave=False,
                             dynamic_ncols=True, file=self.stream)

    def update(self, n: int) -> None:
        """``n`` more units of the current stage are done."""
        self.advance_to(self.done + n)

    def advance_to(self, done: int) -> None:
        """``done`` units of the current stage are done in all."""
        done = min(int(done), self.total) if self.total else int(done)
        if self._bar is not None:
            self._bar.update(done - self.done)
        self.done = done
        now = self.clock()
        if not self.terminal and now - self._last_line >= self.interval_s:
            self._last_line = now
            self.log(self.line(now - self._started))

    def line(self, elapsed: float) -> str:
        """The plain line for the current stage after ``elapsed`` seconds."""
        text = f"  {self.description}: {self.done}/{self.total} {self.unit}"
        if self.total:
            text += f" ({100 * self.done / self.total:.0f} %)"
        if elapsed > 0 and self.done > 0:
            rate = self.done / elapsed
            text += f", {rate:.1f} {self.unit}/s"
            if self.total:
                text += f", {format_duration((self.total - self.done) / rate)} left"
        return text

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        self._close_bar()
