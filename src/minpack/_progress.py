"""``leastsq_batch``'s ``progress=True``: a tqdm bar, or a short status on stderr.

Without tqdm (a plain ``pip install minpack``) the status is a line written when the
batch starts and each time another tenth of it is done: at most 11 lines of about 60
bytes, however many fits and however long they take, so that logs, notebooks and CI
output are not flooded.  On a terminal each line overwrites the one before.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

# How many steps the status reports: one per tenth of the batch.
_STEPS = 10


class StatusLine:
    """A bounded status of a batch of ``total`` fits, written to ``stream``."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.done = 0
        self.reported = -1  # the last tenth written
        self.started = time.monotonic()
        self.lock = threading.Lock()  # the workers of a compiled batch report concurrently
        self.ending = "\r" if getattr(stream, "isatty", lambda: False)() else "\n"

    def advance(self, count: int) -> None:
        """Count ``count`` more fits done; write the status when a new tenth is reached."""
        with self.lock:
            self.done += count
            tenth = _STEPS if self.total == 0 else self.done * _STEPS // self.total
            if tenth > self.reported:
                self.reported = tenth
                self._write()

    def _write(self) -> None:
        elapsed = time.monotonic() - self.started
        percent = 100 if self.total == 0 else 100 * self.done // self.total
        self.stream.write(
            f"leastsq_batch: {self.done}/{self.total} fits ({percent}%), {elapsed:.1f} s"
            + self.ending
        )
        self.stream.flush()

    def close(self) -> None:
        """End the status: the last count, and a newline on a terminal."""
        with self.lock:
            if self.reported < _STEPS:  # stopped early (an exception, Ctrl-C): say where
                self.reported = _STEPS
                self._write()
            if self.ending == "\r":
                self.stream.write("\n")
                self.stream.flush()


@contextmanager
def progress_bar(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    """Yield a function that advances the progress of ``total`` fits by a count.

    tqdm's bar when tqdm is installed, else a `StatusLine` on stderr; nothing when
    ``enabled`` is false.
    """
    if not enabled:
        yield lambda done: None
        return
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        with tqdm(total=total, unit="fit") as bar:
            yield bar.update
        return
    status = StatusLine(total, sys.stderr)
    status.advance(0)
    try:
        yield status.advance
    finally:
        status.close()
