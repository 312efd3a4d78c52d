"""Shared fixtures. The real model is loaded once per test session (about 5 s of imports).

Marks (`--strict-markers`): a test whose fixtures include `real_embedder` (so every test on
`seed_kb` or `seed_qa`) is marked `slow`, and one that uses the `browser` fixture `browser`, here
rather than by hand; `make test-fast` runs the rest. A test not marked `slow` that constructs the
real embedder or the span reader anyway fails and says so (`pytest_runtest_setup` below). Child
processes are not watched: a test that runs the CLI on a real-model knowledge base gets it from
`seed_kb`, and so is marked.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# A language model the user configured for citeqa itself must not reach the suite: without one the
# answers are extractive, which the tests expect (the LLM tests start their own scripted server).
for _name in ("CITEQA_LLM_URL", "CITEQA_LLM_MODEL", "CITEQA_LLM_API_KEY", "CITEQA_LLM_TIMEOUT"):
    os.environ.pop(_name, None)

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "data" / "articles" / "heydar-aliyev-2023-drills.txt"
SHARED_DATA = REPO.parent / "shared" / "data"
#: A test that uses one of these fixtures is marked with the mark named beside it.
MARKING_FIXTURES = {"real_embedder": "slow", "browser": "browser"}
#: Constructing these loads the real model: MiniLM through sentence-transformers, the ONNX span reader,
#: the ONNX question encoder.
MODEL_CLASSES = (
    "citeqa.embed.SentenceTransformerEmbedder",
    "citeqa.reader.Reader",
    "citeqa.onnx_query.VerifiedQuestionEncoder",
)
_UNDO = pytest.StashKey[pytest.MonkeyPatch]()
_TRIPPED = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)  # before -m deselects by mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for fixture, mark in MARKING_FIXTURES.items():
            if fixture in used:
                item.add_marker(mark)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):  # type: ignore[no-untyped-def]
    """Outside `slow` tests, constructing the real model fails the test, in its fixtures or its body."""
    if item.get_closest_marker("slow") is None:
        undo = item.stash[_UNDO] = pytest.MonkeyPatch()
        message = (
            f"{item.nodeid} loads the real model but is not marked slow: use the real_embedder, "
            "seed_kb or seed_qa fixture, or mark it @pytest.mark.slow"
        )

        def refuse(*args: object, **kwargs: object) -> None:
            item.stash[_TRIPPED] = message  # for a load on another thread, which pytest.fail can't stop
            # pytest.fail raises a BaseException: no `except Exception` fallback (such as the reader's
            # "answers use the sentence composer") can swallow it, or cache its outcome.
            pytest.fail(message, pytrace=False)

        for target in MODEL_CLASSES:
            undo.setattr(f"{target}.__init__", refuse)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):  # type: ignore[no-untyped-def]
    result = yield
    if _TRIPPED in item.stash:
        pytest.fail(item.stash[_TRIPPED], pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item):  # type: ignore[no-untyped-def]
    try:
        return (yield)
    finally:
        if _UNDO in item.stash:
            item.stash[_UNDO].undo()


@pytest.fixture(scope="session", autouse=True)
def _own_cache(tmp_path_factory):
    """The ONNX question encoder is exported into a fresh cache each session (about 2 s), so the
    export path is tested every run and nothing is written to the user's ~/.cache."""
    os.environ["CITEQA_CACHE"] = str(tmp_path_factory.mktemp("citeqa-cache"))


@pytest.fixture(scope="session")
def real_embedder():
    from citeqa.embed import load_embedder

    return load_embedder()


@pytest.fixture()
def hash_embedder():
    from citeqa.embed import HashEmbedder

    return HashEmbedder(dim=64)


@pytest.fixture(scope="session")
def seed_kb(tmp_path_factory, real_embedder) -> Path:
    """A knowledge base holding only the seed article, built with the real model (read-only in tests)."""
    from citeqa import Assistant

    kb = tmp_path_factory.mktemp("kb") / "seed"
    Assistant.build([SEED], kb=kb, embedder=real_embedder, progress=False).close()
    return kb


@pytest.fixture()
def seed_qa(seed_kb, real_embedder, tmp_path):
    """An Assistant over a private copy of the seed knowledge base (tests may write to it)."""
    from citeqa import Assistant

    copy = tmp_path / "kb"
    shutil.copytree(seed_kb, copy)
    qa = Assistant.open(copy, embedder=real_embedder)
    yield qa
    qa.close()


def round_trips(qa, answer) -> bool:
    """The citation contract: every quote is exactly the article's text at its offsets."""
    return all(qa.article(c.article_id).text[c.start : c.end] == c.quote for c in answer.citations)


def run_in_threads(work, n: int) -> list[BaseException]:  # type: ignore[no-untyped-def]
    """Call work(0) ... work(n-1) on n threads at once; the exceptions they raised."""
    import threading

    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 - returned to the test, which asserts on them
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
