"""Chat sessions: follow-ups are detected and resolved from the previous turn."""

from __future__ import annotations

import pytest

from citeqa.chat import ChatSession, Turn, is_follow_up
from citeqa.schema import Answer, AnswerSentence, Citation
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


# ---------------------------------------------------------------- Markdown export


def _turn(question: str, sentences: list[tuple[str, int]], citations: list[Citation]) -> Turn:
    """A turn built by hand: sentences as (text, n), the marker appended as compose does."""
    sents = tuple(AnswerSentence(f"{t} [{n}]", (n,)) for t, n in sentences)
    answer = Answer(
        question=question,
        text=" ".join(s.text for s in sents),
        sentences=sents,
        citations=tuple(citations),
        hits=(),
        abstained=not sents,
        confidence=0.9 if sents else 0.1,
    )
    return Turn(question, question, answer)


def test_to_markdown_golden():
    cite = Citation(
        1, "wc", "wc#0", 10, 52, "Argentina won the final\non penalties.", "World Cup", "", "2022-12-18"
    )
    abstain = Answer("Who?", "The articles don't say. No passages.", (), (), (), True, 0.0)
    session = ChatSession(assistant=None)  # type: ignore[arg-type]  # export reads only the history
    session.history += [
        _turn("Who won the 2022 FIFA World Cup?", [("Argentina won the final on penalties.", 1)], [cite]),
        Turn("Who?", "Who?", abstain),
    ]
    assert session.to_markdown() == (
        "# citeqa conversation\n"
        "\n"
        "## 1. Who won the 2022 FIFA World Cup?\n"
        "\n"
        "Argentina won the final on penalties. [1]\n"
        "\n"
        "- [1] **World Cup** (2022-12-18): “Argentina won the final on penalties.”\n"
        "\n"
        "## 2. Who?\n"
        "\n"
        "The articles don't say. No passages.\n"
    )


def test_to_markdown_of_an_empty_session():
    assert ChatSession(assistant=None).to_markdown() == "# citeqa conversation\n\n_No questions yet._\n"  # type: ignore[arg-type]


def test_to_markdown_keeps_article_markup_inert():
    markdown_it = pytest.importorskip("markdown_it")
    evil = "<script>alert(1)</script> see [here](http://x.test) *now* &amp; 1. `code`"
    cite = Citation(1, "a", "a#0", 0, len(evil), evil, "<b>Title</b>", "", "")
    session = ChatSession(assistant=None)  # type: ignore[arg-type]
    session.history.append(_turn("# 1. <i>What</i>?", [(evil, 1)], [cite]))
    md = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])  # raw HTML on
    html = md.render(session.to_markdown())
    for tag in ("<script", "<a ", "<em>", "<b>", "<i>", "<code>", "<ol"):
        assert tag not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2  # answer and citation, as text
    assert "&amp;amp;" in html  # the entity is shown as typed, not decoded


def test_to_markdown_of_a_real_conversation(seed_qa):
    session = seed_qa.chat()
    first = session.ask("Who spoke about the unshakable brotherhood between the two countries?")
    session.ask("What was his rank?")
    md = session.to_markdown()
    assert "## 1. Who spoke about the unshakable brotherhood between the two countries?" in md
    assert "## 2. What was his rank?" in md
    c = first.citations[0]
    assert f"- [{c.n}] **{c.title}** ({c.published}): “" in md
    assert " [1]\n" in md  # the answer keeps its markers
