"""leastsq_batch's progress: tqdm's bar when installed, else a bounded status on stderr."""

import io
import sys

import numpy as np
import pytest
from helpers.decay import P0, T

from minpack import _progress, leastsq_batch


def decay_row(p, y):
    return p[0] * np.exp(-p[1] * T) + p[2] - y


def rows(count):
    rng = np.random.default_rng(7)
    return 2.5 * np.exp(-1.3 * T) + 0.5 + rng.normal(0.0, 0.02, (count, T.size))


@pytest.mark.parametrize("count", [2000, 10000])
def test_without_tqdm_progress_is_a_few_lines_however_many_fits(count, monkeypatch, capfd):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    result = leastsq_batch(decay_row, P0, rows(count), progress=True)
    assert result.success.all()
    out, err = capfd.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert 2 <= len(lines) <= 11  # the start, and one line per tenth reached
    assert len(err) < 1024
    assert lines[0].startswith(f"leastsq_batch: 0/{count} fits (0%)")
    assert lines[-1].startswith(f"leastsq_batch: {count}/{count} fits (100%)")


def test_the_status_of_a_batch_stopped_early_says_where_it_stopped():
    stream = io.StringIO()
    status = _progress.StatusLine(1000, stream)
    status.advance(0)
    for _ in range(35):
        status.advance(10)
    status.close()
    lines = stream.getvalue().splitlines()
    assert [line.split(" fits")[0] for line in lines] == [
        "leastsq_batch: 0/1000", "leastsq_batch: 100/1000", "leastsq_batch: 200/1000",
        "leastsq_batch: 300/1000", "leastsq_batch: 350/1000",
    ]  # fmt: skip


def test_on_a_terminal_the_lines_overwrite_each_other():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    status = _progress.StatusLine(10, stream)
    for _ in range(10):
        status.advance(1)
    status.close()
    text = stream.getvalue()
    assert text.count("\r") == 10 and text.endswith("\r\n") and text.count("\n") == 1


def test_with_tqdm_progress_is_tqdms_bar(capfd):
    pytest.importorskip("tqdm")
    leastsq_batch(decay_row, P0, rows(200), progress=True)
    err = capfd.readouterr().err
    assert "200/200" in err and "fit/s" in err
