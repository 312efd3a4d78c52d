"""The marks conftest.py gives, and its refusal of the real model in a test not marked slow, checked
on a small test module run by pytester with the same conftest (no model is loaded: the span reader's
constructor stands for it, and `real_embedder` is replaced by a stub)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

INNER = """
import pytest
from citeqa.reader import Reader, ReaderSettings


@pytest.fixture()
def real_embedder():  # a stub with the real fixture's name: the mark goes by the name
    return None


def test_unmarked_builds_the_reader():
    Reader(None, None, ReaderSettings(), None)


@pytest.mark.slow
def test_marked_builds_the_reader():
    Reader(None, None, ReaderSettings(), None)


def test_uses_the_real_embedder(real_embedder):
    Reader(None, None, ReaderSettings(), None)


def test_plain():
    pass
"""


def test_a_test_that_builds_the_model_without_the_slow_mark_fails_and_says_why(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nmarkers =\n    slow: loads the real model\n")
    pytester.makepyfile(test_inner=INNER)
    # In a child process: this test is not marked slow, so in this process the reader is refused.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    # The user of real_embedder passes: it was marked slow, so its reader was let through.
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        ["*test_unmarked_builds_the_reader loads the real model but is not marked slow*"]
    )
