"""A progress bar for long commands (imports, the demo seed), drawn on stderr.

On a terminal it redraws one line: a bar, the percentage, the time spent and the time left
(estimated from the pace so far). Anywhere else (a pipe, a log file, a test) it draws
nothing, and the command prints its one summary line at the end as before.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def is_terminal(stream: TextIO) -> bool:
    """Return whether ``stream`` is an interactive terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def format_duration(seconds: float) -> str:
    """Return ``seconds`` as ``m:ss`` (or ``h:mm:ss`` from an hour)."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class ProgressBar:
    """One line ``label [#####-----]  45%  0:12 spent, 0:15 left  detail``, redrawn in place."""

    WIDTH = 30

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        terminal: bool | None = None,
    ):
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.clock = clock
        self.started = clock()
        self.shown = is_terminal(self.stream) if terminal is None else terminal
        self._drawn = 0

    def line(self, fraction: float | None, detail: str = "") -> str:
        """Return the bar's text for ``fraction`` done (None: unknown) and a detail."""
        spent = self.clock() - self.started
        if fraction is None:
            bar, percent, left = "?" * self.WIDTH, "  ?%", "time left unknown"
        else:
            fraction = min(max(fraction, 0.0), 1.0)
            filled = int(fraction * self.WIDTH)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            percent = f"{fraction * 100:3.0f}%"
            left = (
                f"{format_duration(spent * (1 - fraction) / fraction)} left"
                if fraction > 0
                else "time left unknown"
            )
        text = f"{self.label} [{bar}] {percent}  {format_duration(spent)} spent, {left}"
        return f"{text}  {detail}" if detail else text

    def update(self, fraction: float | None, detail: str = "") -> None:
        """Redraw the bar (on a terminal only)."""
        if not self.shown:
            return
        text = self.line(fraction, detail)
        # Pad over a longer previous line; \r returns to the start of the same line.
        self.stream.write("\r" + text.ljust(self._drawn))
        self.stream.flush()
        self._drawn = len(text)

    def close(self) -> None:
        """End the bar's line, so that what follows starts on a line of its own."""
        if self.shown and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = 0
