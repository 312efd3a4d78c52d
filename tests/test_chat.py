"""Chat sessions: follow-ups are detected and resolved from the previous turn."""

from __future__ import annotations

import pytest

from citeqa.chat import is_follow_up
from tests.conftest import run_in_threads


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What did he say about the two countries?", True),
        ("And when was it signed?", True),
        ("Why?", True),
        ("Where will the Heydar Aliyev-2023 drills be held?", False),
        ("When was the memorandum of alliance signed?", False),
        ("Who is the deputy commander of the Combined Arms Army?", False),
    ],
)
def test_follow_up_detection(question, expected):
    assert is_follow_up(question) is expected


def test_follow_up_query_carries_the_previous_turn(seed_qa):
    session = seed_qa.chat()
    first = session.ask("Who spoke about the unshakable brotherhood between the two countries?")
    assert any("Jafarov" in c.quote for c in first.citations)
    follow = session.ask("What was his rank?")
    assert follow.question == "What was his rank?"  # the user's wording is kept
    assert follow.query != follow.question and "Jafarov" in follow.query
    assert any("Jafarov" in h.passage.text for h in follow.hits[:2])


def test_treaty_follow_up_retrieves_the_memorandum(seed_qa):
    session = seed_qa.chat()
    session.ask("What did the two countries sign on June 15?")
    follow = session.ask("What did it cement?")
    assert "memorandum" in follow.hits[0].passage.text


def test_sessions_are_independent(seed_qa):
    a, b = seed_qa.chat(), seed_qa.chat()
    a.ask("Who spoke about the unshakable brotherhood between the two countries?")
    assert b.resolve("What was his rank?") == "What was his rank?"
    assert a.resolve("What was his rank?") != "What was his rank?"


def test_sessions_survive_concurrent_use(seed_qa):
    def worker(i: int) -> None:
        s = seed_qa.chat()
        for q in ("Where are the drills held?", "Who spoke there?", "When was the memorandum signed?"):
            s.ask(q)
        assert len(s.history) == 3

    errors = run_in_threads(worker, 4)
    assert not errors
