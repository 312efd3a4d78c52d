"""Shared fixtures. The real model is loaded once per test session (about 5 s of imports)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "data" / "articles" / "heydar-aliyev-2023-drills.txt"
SHARED_DATA = REPO.parent / "shared" / "data"


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
