"""Every module outside tests/ has one job and stays under 400 lines, so a reader can hold it whole."""

from __future__ import annotations

from tests.support.paths import REPO_ROOT

MAX_LINES = 400
SOURCE_DIRS = ("sagefit", "stacks", "bench")


def test_no_module_outside_tests_exceeds_400_lines():
    sources = [REPO_ROOT / "app.py", *(p for d in SOURCE_DIRS for p in (REPO_ROOT / d).rglob("*.py"))]
    assert len(sources) > 100  # the walk found the package, not an empty directory
    too_long = {
        str(path.relative_to(REPO_ROOT)): n
        for path in sources
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}
