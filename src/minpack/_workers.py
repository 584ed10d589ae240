"""Worker threads that take a batch's chunks of problems in turn, stoppable at any time."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from minpack._progress import progress_bar

# How often the main thread wakes up while it waits for the workers (to see Ctrl-C).
_POLL_SECONDS = 0.05

# fit_range(start, stop, stop_flag) fits problems start..stop-1 and returns how many it
# fitted; it returns early, or raises, once stop_flag[0] is set.
FitRange = Callable[[int, int, NDArray[np.intc]], int]


def run_chunks(
    count: int,
    chunk: int,
    threads: int,
    progress: bool,
    fit_range: FitRange,
    *,
    in_main_thread: bool = False,
) -> None:
    """Fit problems 0..count-1 in chunks of ``chunk``, ``threads`` threads taking them in turn.

    The first exception of any thread stops the others before their next chunk (the C
    code also reads ``stop_flag`` as it goes) and is raised unchanged once every thread
    has stopped.  So is Ctrl-C.  With ``in_main_thread`` and one thread, the chunks run in
    the calling thread instead: ``fit_range`` must then see Ctrl-C itself.
    """
    stop_flag = np.zeros(1, dtype=np.intc)
    chunks = iter(range(0, count, chunk))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work(advance: Callable[[int], None]) -> None:
        while not stop_flag[0]:
            with lock:
                start = next(chunks, None)
            if start is None:
                return
            advance(fit_range(start, min(start + chunk, count), stop_flag))

    with progress_bar(progress, count) as advance:
        if in_main_thread and threads == 1:
            work(advance)
            return
        finished = [threading.Event() for _ in range(threads)]

        def work_in_thread(done_event: threading.Event) -> None:
            try:
                work(advance)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread below
                stop_flag[0] = 1
                failures.append(exc)
            finally:
                done_event.set()

        for done_event in finished:
            threading.Thread(target=work_in_thread, args=(done_event,), daemon=True).start()
        try:
            for done_event in finished:
                while not done_event.wait(_POLL_SECONDS):  # wakes up for Ctrl-C
                    pass
        except BaseException:
            # Ctrl-C: every worker stops within its current chunk.  Wait on the events, not
            # Thread.join: an interrupted join may mark a running thread as finished, and
            # the workers still use x, data and the outputs.
            stop_flag[0] = 1
            for done_event in finished:
                done_event.wait()
            raise
    if failures:
        raise failures[0]
