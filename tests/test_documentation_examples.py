"""Every Python example of the README and the docs runs as written, and prints what they show.

A block of ``>>>`` lines is a doctest.  Any other ``python`` block is a script, run as
``__main__`` in a process of its own from an empty directory; when a ``text`` block
follows it directly, that is what the script must print, exactly.  The pages are the
README and the Markdown pages of docs/ (the gallery's scripts run when the docs are
built, by ``bash scripts/docs``).  The docstrings' examples are tests/test_docstrings.py's.
"""

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


def _examples(page):
    """Return (id, code, expected output or None) for each python block of ``page``, in order."""
    text = page.read_text()
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    examples = []
    for index, (language, code, start, end) in enumerate(blocks):
        if language != "python":
            continue
        headings = re.findall(r"^#+ (.+)$", text[:start], flags=re.MULTILINE)
        expected = None
        if index + 1 < len(blocks):
            next_language, next_code, next_start, _ = blocks[index + 1]
            if next_language == "text" and text[end:next_start].strip() == "":
                expected = next_code
        name = re.sub(r"[^a-z0-9]+", "-", (headings or ["top"])[-1].lower()).strip("-")
        where = page.relative_to(ROOT).as_posix()
        examples.append((f"{where}-{len(examples)}-{name}", code, expected))
    return examples


EXAMPLES = [example for page in PAGES for example in _examples(page)]


def test_the_pages_have_examples():
    assert len(_examples(ROOT / "README.md")) >= 2
    assert len(EXAMPLES) >= 12


def looks_like_a_signature(code):
    """A block that shows a call's signature (``leastsq(func, x0, ...)``), not a script."""
    return re.fullmatch(r"\w+\((?:.|\n)*\)\n", code) is not None


@pytest.mark.parametrize(
    ("code", "expected"), [e[1:] for e in EXAMPLES], ids=[e[0] for e in EXAMPLES]
)
def test_example_runs_as_written(code, expected, tmp_path):
    if looks_like_a_signature(code):
        compile(f"def {code.rstrip()}: ...", "<signature>", "exec")  # a valid signature
        return
    if code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(code, {}, "page", "page", 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        output = []
        runner.run(test, out=output.append)
        assert runner.failures == 0, "".join(output)
        return
    script = tmp_path / "example.py"
    script.write_text(code)
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    if expected is not None:
        assert result.stdout == expected
