"""Golden answers of the sentence composer on the seed article (real model, the reader switched off:
it is the fallback when the reader's weights are missing): the cited span is checked exactly.
The reader's direct answers are tested in test_reader.py."""

from __future__ import annotations

import pytest

from citeqa.answer import ComposerSettings, refusal
from citeqa.features import answer_type, short_answer_span
from citeqa.markers import cited_text
from tests.conftest import round_trips

SEED_ID = "heydar-aliyev-2023-drills"


@pytest.fixture()
def seed_qa(seed_kb, real_embedder):
    """The seed knowledge base answered by the composer alone."""
    from citeqa import Assistant
    from citeqa.config import Config

    qa = Assistant.open(seed_kb, embedder=real_embedder, config=Config(reader=False))
    yield qa
    qa.close()


GOLDEN = [
    (
        "Where will the Heydar Aliyev-2023 drills be held?",
        "The ceremony was held on the occasion of the departure of the military personnel and equipment "
        "involved in the drills to be held in Kars.",
        None,
    ),
    (
        "Who spoke about the unshakable brotherhood between the two countries?",
        "After the performance of Azerbaijan’s National Anthem, Deputy Commander of the Combined Arms Army, "
        "Maj-Gen Rahim Jafarov spoke about the unshakable brotherhood between the two countries and the "
        "importance of conducting the joint drills.",
        None,
    ),
    (
        "When was the memorandum of alliance signed?",
        "On June 15, the two countries signed a memorandum of alliance that cemented the existing military, "
        "political and economic cooperation.",
        "June 15",
    ),
    (
        "When did military cooperation between Azerbaijan and Turkiye first emerge?",
        None,  # the sentence is long; checked by its start below
        "1992",
    ),
]


@pytest.mark.parametrize(("question", "quote", "short"), GOLDEN)
def test_golden_answers(seed_qa, question, quote, short):
    answer = seed_qa.ask(question)
    assert not answer.abstained
    assert round_trips(seed_qa, answer)
    first = answer.citations[0]
    text = seed_qa.article(SEED_ID).text
    if quote is not None:
        assert quote in [c.quote for c in answer.citations]
        start = text.index(quote)
        assert any((c.start, c.end) == (start, start + len(quote)) for c in answer.citations)
    else:
        assert first.quote.startswith("Military cooperation between Azerbaijan and Turkiye first emerged")
    if short is not None:
        assert answer.short is not None and answer.short.text == short
        assert text[answer.short.start : answer.short.end] == short
    assert 0.5 <= answer.confidence <= 1.0


def test_every_sentence_is_cited(seed_qa):
    answer = seed_qa.ask("What is the main purpose of the drills?")
    assert answer.sentences
    numbers = {c.n for c in answer.citations}
    for s in answer.sentences:
        assert s.citations and set(s.citations) <= numbers and "[" not in s.text  # markers: a rendering
    assert cited_text(answer).endswith(f"[{answer.sentences[-1].citations[-1]}]")
    retrieved = {h.passage.id for h in answer.hits}
    assert {c.passage_id for c in answer.citations} <= retrieved


@pytest.mark.parametrize(
    "question", ["How many soldiers took part?", "Who won the 2022 FIFA World Cup?", "asdf qwerty zxcv"]
)
def test_abstains_when_the_article_does_not_say(seed_qa, question):
    answer = seed_qa.ask(question)
    assert answer.abstained and not answer.citations
    assert answer.text == refusal(question)  # plain words; the scores are in answer.reason
    assert answer.hits  # the closest passages are still shown
    # Either the confidence is under the threshold, or a "how many" question found no number.
    assert ("threshold" in answer.reason and answer.confidence < ComposerSettings().abstain_below) or (
        "no number" in answer.reason
    )


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When was it signed?", "date"),
        ("How many troops?", "number"),
        ("Who spoke?", "person"),
        ("Where are the drills?", "place"),
        ("What is the purpose?", ""),
    ],
)
def test_answer_type(question, kind):
    assert answer_type(question) == kind


def test_short_answer_needs_a_single_candidate():
    s = "The drills began on 3 May and ended on 9 May."
    assert short_answer_span("date", s, "When did the drills begin?") is None
    s = "The bridge reopened in 1992 after repairs."
    a, b = short_answer_span("date", s, "When did the bridge reopen?")
    assert s[a:b] == "1992"


def test_second_sentence_scope():
    from types import SimpleNamespace as NS

    from citeqa.answer import _in_scope

    def sent(passage: str, rank: int, article: str = "a"):
        return NS(hit=NS(rank=rank, passage=NS(id=passage, article_id=article)))

    best = sent("p2", rank=2)
    assert _in_scope(sent("p2", 2), best, "passage", typed=False)  # same passage
    assert not _in_scope(sent("p1", 1), best, "passage", typed=False)  # top passage, nothing asked-for
    assert _in_scope(sent("p1", 1), best, "passage", typed=True)  # top passage with the asked-for token
    assert not _in_scope(sent("p3", 3), best, "passage", typed=True)
    assert _in_scope(sent("p3", 3), best, "article", typed=False)
    assert not _in_scope(sent("p9", 3, "b"), best, "article", typed=True)
    assert _in_scope(sent("p9", 3, "b"), best, "any", typed=False)


def test_short_answer_for_who_is_not_a_place():
    q = "Who attended the ceremony?"
    s = "The ceremony was held on the occasion of the departure of the units to be held in Kars."
    assert short_answer_span("person", s, q) is None  # "in Kars": a place, not who
    assert short_answer_span("person", "In Kars the officers attended.", q) is None
    s = "The bridge was designed by Gustave Eiffel."
    a, b = short_answer_span("person", s, "Who designed the bridge?")
    assert s[a:b] == "Gustave Eiffel"
