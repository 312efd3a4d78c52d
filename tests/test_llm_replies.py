"""Reading what a language model wrote (citeqa.llm_reply): the citation
styles models use besides the asked-for [n], without eating numbers that are part of a sentence."""

from __future__ import annotations

import time

import pytest

from citeqa.llm_reply import ThinkingFilter, says_no_answer, split_written, without_thinking


@pytest.mark.parametrize(
    ("reply", "cited"),
    [
        ("Kars hosts it (1).", (1,)),
        ("Kars hosts it. (1)", (1,)),
        ("Kars hosts it.(1)", (1,)),
        ("Kars hosts it (1, 2).", (1, 2)),
        ("Kars hosts it [1-3].", (1, 2, 3)),
        ("Kars hosts it [1–3].", (1, 2, 3)),
        ("Kars hosts it [Passages 1–2].", (1, 2)),
        ("Kars hosts it [^1].", (1,)),
        ("Kars hosts it.[^1][^2]", (1, 2)),
        ("Kars hosts it (source 1).", (1,)),
        ("Kars hosts it (Passage 2).", (2,)),
        ("Kars hosts it (sources 1 and 3).", (1, 3)),
        ("Kars hosts it【1】.", (1,)),
        ("Kars hosts it 【2†source】.", (2,)),
        ("Kars hosts it [1][2].", (1, 2)),
        ("Kars hosts it [1, 2].", (1, 2)),
        ("Kars hosts it [1; 2].", (1, 2)),
    ],
)
def test_common_citation_styles_are_read_and_removed(reply, cited):
    assert split_written(reply) == [("Kars hosts it.", cited)]


def test_styles_mix_and_open_the_next_sentence():
    assert split_written("Kars hosts it (1). It ends in June [2-3].") == [
        ("Kars hosts it.", (1,)),
        ("It ends in June.", (2, 3)),
    ]
    assert split_written("Kars hosts it. (1) It ends in June. (2)") == [
        ("Kars hosts it.", (1,)),
        ("It ends in June.", (2,)),
    ]
    assert split_written("Kars hosts it.\n\n(1)(2)") == [("Kars hosts it.", (1, 2))]
    assert split_written("Kars hosts it.[^1]\n\n[^1]: The ceremony was held in Kars.") == [
        ("Kars hosts it.", (1,))
    ]  # a markdown footnote's definition is not a sentence of the answer


def test_numbers_in_parentheses_that_are_content_stay():
    # only a sentence's last parenthesis is a marker; a range only inside brackets
    assert split_written("Stage (2) of the drills starts in Kars [1].") == [
        ("Stage (2) of the drills starts in Kars.", (1,))
    ]
    assert split_written("The victim, John Smith (45), was hurt [2].") == [
        ("The victim, John Smith (45), was hurt.", (2,))
    ]
    assert split_written("Turkiye won 1-3 (2-1 at half time) [1].") == [
        ("Turkiye won 1-3 (2-1 at half time).", (1,))
    ]
    # a number above the passages the model was given is not a citation of one
    assert split_written("He was aged (45).", passages=5) == [("He was aged (45).", ())]
    assert split_written("He was aged 45 (3).", passages=5) == [("He was aged 45.", (3,))]
    # a list numbered (1), (2): its numbers are bullets, not citations of the sentence before
    assert split_written("(1) Kars hosts it. (2) It ends in June [2].") == [
        ("Kars hosts it.", ()),
        ("It ends in June.", (2,)),
    ]


def test_a_reasoning_models_thinking_is_not_part_of_the_answer():
    reply = "<think>\nThe user asks where. Passage 1 says Ankara? No.\n</think>\n\nKars hosts it [1]."
    assert without_thinking(reply) == "Kars hosts it [1]."
    assert without_thinking("<THINKING>hm</THINKING> Kars [1]. <think>more</think>It ends [2].") == (
        "Kars [1].  It ends [2]."
    )
    assert without_thinking("<think>Passage 1 says Kars, so the answer") == ""  # never closed
    # the chat template opened the block in the prompt: the reply starts inside it
    assert without_thinking("Passage 1 says Kars.</think>Kars hosts it [1].") == "Kars hosts it [1]."
    assert without_thinking("Kars hosts it [1].") == "Kars hosts it [1]."


@pytest.mark.parametrize("size", [1, 3, 1000])
def test_streamed_thinking_is_held_back(size):
    reply = "  <think>Passage 2 says Ankara.</think>\n\nKars hosts it [1]. It ends <b>soon</b>."
    thinking = ThinkingFilter()
    shown = "".join(thinking.feed(reply[i : i + size]) for i in range(0, len(reply), size))
    assert shown == "Kars hosts it [1]. It ends <b>soon</b>."
    plain = ThinkingFilter()
    assert "".join(plain.feed(c) for c in " <thin air") == " <thin air"  # no block: all of it, unchanged
    unclosed = ThinkingFilter()
    assert "".join(unclosed.feed(c) for c in "<think>Passage 1 says") == ""


@pytest.mark.parametrize(
    "sentence",
    [
        "The passages do not say where the drills will be held.",
        "The provided passages don't mention the number of troops.",
        "None of the passages answer this question.",
        "There is no information in the passages about the venue.",
        "There is no mention of the venue or of the date in the given passages.",
        "The sources provide no information about it.",
        "The given context does not contain the answer.",
        "This is not mentioned in the passages.",
        "The answer is not in the passages.",
        "I cannot answer this question from the passages provided.",
        "I could not find the answer in the given passages.",
        "I don't know.",
    ],
)
def test_a_reply_saying_the_passages_hold_no_answer_is_recognised(sentence):
    assert says_no_answer(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "The drills will be held in Kars.",
        "The passages say the drills will be held in Kars.",
        "The passages say the drills are not in Kars but in Baku.",
        "According to the passages, Kars is not the venue.",
        "Officials did not say how many troops will take part.",
        "Military sources did not mention the cost.",
        "The drills do not start until June, passage 2 says.",
        "The ministry cannot confirm the number of troops.",
        # news about sources and documents, not a model that found no answer
        "The sources were not named.",
        "The documents contain no signature, police said.",
        "The documents were not released until Monday, the ministry said.",
        "Bathe sources do not say it.",
    ],
)
def test_what_the_passages_say_is_not_read_as_no_answer(sentence):
    assert not says_no_answer(sentence)


@pytest.mark.parametrize(
    "reply", ["(1) " * 5000 + "x", "(1)" * 8000 + "x", "<think>" * 10000, "no information in " * 5000]
)
def test_reading_a_degenerate_reply_takes_linear_time(reply):
    # a looping model can send a megabyte of one pattern; each of these took seconds to minutes
    t = time.perf_counter()
    split_written(without_thinking(reply), passages=5), says_no_answer(reply)
    assert time.perf_counter() - t < 1.0
