"""Every Python example of the README runs as written, and prints what the README shows.

A block of ``>>>`` lines is a doctest.  Any other ``python`` block is a script, run as
``__main__`` in a process of its own from an empty directory; when a ``text`` block
follows it directly, that is what the script must print, exactly.
"""

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


def _examples():
    """Return (id, code, expected output or None) for each python block, in order."""
    text = README.read_text()
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    examples = []
    for index, (language, code, start, end) in enumerate(blocks):
        if language != "python":
            continue
        heading = re.findall(r"^#+ (.+)$", text[:start], flags=re.MULTILINE)[-1]
        expected = None
        if index + 1 < len(blocks):
            next_language, next_code, next_start, _ = blocks[index + 1]
            if next_language == "text" and text[end:next_start].strip() == "":
                expected = next_code
        name = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")
        examples.append((f"{len(examples)}-{name}", code, expected))
    return examples


EXAMPLES = _examples()


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize(
    ("code", "expected"), [e[1:] for e in EXAMPLES], ids=[e[0] for e in EXAMPLES]
)
def test_readme_example_runs_as_written(code, expected, tmp_path):
    if code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(code, {}, "README", str(README), 0)
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
