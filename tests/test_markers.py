"""Markers are a rendering: answers hold plain sentences, renderers add " [n]"."""

from __future__ import annotations

from citeqa.markers import cited_text, marked, strip_markers
from citeqa.schema import Answer, AnswerSentence


def _answer(lead: str = "Kars. ") -> Answer:
    sents = (
        AnswerSentence("The drills are held in Kars.", (1,)),
        AnswerSentence("They began in 1992.", (2, 3)),
    )
    text = lead + " ".join(s.text for s in sents)
    return Answer("Where?", text, sents, (), (), False, 0.9, lead=lead)


def test_cited_text_adds_markers_to_plain_sentences():
    answer = _answer()
    assert "[" not in answer.text and all("[" not in s.text for s in answer.sentences)
    assert cited_text(answer) == "Kars. The drills are held in Kars. [1] They began in 1992. [2] [3]"
    assert answer.to_dict()["answer"] == cited_text(answer)
    assert answer.to_dict()["sentences"][0]["text"] == "The drills are held in Kars."


def test_an_abstention_is_its_plain_refusal():
    refusal = Answer("Who won?", "The articles don't say who won.", (), (), (), True, 0.0)
    assert cited_text(refusal) == "The articles don't say who won."


def test_strip_markers_undoes_them():
    assert strip_markers(marked("Held in Kars.", (1, 2))) == "Held in Kars."
    assert strip_markers("The drills are held in Kars [1]. They started in 1992 [2, 3].") == (
        "The drills are held in Kars. They started in 1992."
    )
