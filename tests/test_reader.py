"""The span reader (reader.py) and direct answers (answer_direct.py): golden answers on the seed article
and on an article with units, abstention, the fallback without weights, and the citation contract."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from citeqa import reader as reader_mod
from citeqa.answer import refusal
from citeqa.reader import MANIFEST, _whole_words, load_reader
from citeqa.schema import Article
from tests.conftest import round_trips

SEED_ID = "heydar-aliyev-2023-drills"
UNITS = Path(__file__).parent / "fixtures" / "units" / "caspian-ferry.txt"


def short_round_trips(qa, answer) -> bool:
    s = answer.short
    return s is not None and qa.article(s.article_id).text[s.start : s.end] == s.text


# ---------------------------------------------------------------- pure pieces


@pytest.mark.parametrize(
    ("text", "a", "b", "want"),
    [
        ("took 19 hours, about", 5, 12, "19 hours"),  # cut mid-word: widened
        ("in Kars.", 3, 8, "Kars"),  # trailing full stop trimmed
        ("“Kars”", 0, 6, "Kars"),  # quotes trimmed
        ("Maj-Gen Rahim Jafarov spoke", 0, 21, "Maj-Gen Rahim Jafarov"),
    ],
)
def test_whole_words(text, a, b, want):
    s, e = _whole_words(text, a, b)
    assert text[s:e] == want


@pytest.mark.parametrize(
    ("question", "want"),
    [
        ("Who won the 2022 FIFA World Cup?", "The articles don't say who won the 2022 FIFA World Cup."),
        ("what  causes rain?", "The articles don't say what causes rain."),
        ("Where will the drills be held?", "The articles don't answer “Where will the drills be held?”."),
        ("Who is the president?", "The articles don't answer “Who is the president?”."),
    ],
)
def test_refusal_speaks_plainly(question, want):
    assert refusal(question) == want


# ---------------------------------------------------------------- the shipped reader


@pytest.mark.slow  # loads the shipped reader
def test_shipped_weights_match_their_manifest():
    meta = json.loads(MANIFEST.read_text())
    path = MANIFEST.parent / meta["file"]
    assert path.stat().st_size <= 50 * 1024 * 1024
    assert reader_mod._sha256(path) == meta["sha256"]
    cal = meta["calibration"]
    assert 0 < cal["abstain_below"] < 1 and 0 <= cal["short_above"] < 1
    assert set(cal["sentence"]["weights"]) == set(cal["features"])
    assert load_reader() is not None


GOLDEN = [
    ("Where will the Heydar Aliyev-2023 drills be held?", ("Kars",)),
    ("Who spoke about the unshakable brotherhood between the two countries?", ("Maj-Gen Rahim Jafarov",)),
    ("When was the memorandum of alliance signed?", ("June 15",)),
]


@pytest.mark.parametrize(("question", "want"), GOLDEN)
def test_golden_short_answers_on_the_seed(seed_qa, question, want):
    answer = seed_qa.ask(question)
    assert not answer.abstained
    assert answer.short is not None and answer.short.text in want
    assert short_round_trips(seed_qa, answer) and round_trips(seed_qa, answer)
    # The answer names it first, then the sentence that says it, which holds the span.
    assert answer.text.startswith(answer.short.text + ".")
    c = answer.citations[answer.short.citation - 1]
    assert c.start <= answer.short.start and answer.short.end <= c.end
    assert answer.to_dict()["short"]["text"] == answer.short.text


@pytest.fixture()
def units_qa(tmp_path, real_embedder):
    from citeqa import Assistant

    qa = Assistant.build([UNITS], kb=tmp_path / "kb", embedder=real_embedder, progress=False)
    yield qa
    qa.close()


@pytest.mark.parametrize(
    ("question", "want"),
    [
        ("How long did the ferry's first crossing take?", "19 hours"),
        ("How much rain did Aktau record?", "8 inches"),
        ("Who captained the ferry?", "Elnur Mammadov"),
    ],
)
def test_short_answers_keep_their_unit_and_whole_name(units_qa, question, want):
    answer = units_qa.ask(question)
    assert answer.short is not None, answer.text
    assert answer.short.text.startswith(want) or answer.short.text.endswith(want), answer.short.text
    assert short_round_trips(units_qa, answer) and round_trips(units_qa, answer)


@pytest.mark.parametrize(
    "question", ["Who won the 2022 FIFA World Cup?", "How many goals did Messi score in the final?"]
)
def test_off_topic_questions_abstain_in_plain_words(seed_qa, question):
    answer = seed_qa.ask(question)
    assert answer.abstained and answer.short is None and not answer.citations
    assert answer.text == refusal(question)
    assert "threshold" in answer.reason or "found" in answer.reason  # the scores stay in the reason
    assert answer.hits


SPORTS_AND_CITY = [  # a small knowledge base of our own: a winner is named, but not the one asked for
    Article(
        id="marathon",
        title="Chebet wins Lakeside City Marathon",
        text="Grace Chebet of Kenya won the Lakeside City Marathon on Sunday, finishing in 2 hours 21 "
        "minutes. Ethiopia's Almaz Tesfaye was second, 40 seconds behind.\n\nMore than 12,000 runners "
        "took part in the race, which started at the harbour at 7 a.m.",
    ),
    Article(
        id="bridge",
        title="Harbor bridge reopens after repairs",
        text="The Harbor Bridge reopened to traffic on Tuesday after eight months of repairs costing 14 "
        "million dollars. The city engineer, Maria Lopez, said the steel deck had been replaced.",
    ),
]


@pytest.fixture()
def city_qa(tmp_path, real_embedder):
    from citeqa import Assistant

    qa = Assistant.build(SPORTS_AND_CITY, kb=tmp_path / "kb", embedder=real_embedder, progress=False)
    yield qa
    qa.close()


@pytest.mark.parametrize("question", ["Who won the 2022 World Cup?", "Who won the 2030 Olympics?"])
def test_a_winner_of_something_else_is_no_answer(city_qa, question):
    """A fresh user's report: with a marathon winner in the articles, "Who won the 2022 World Cup?"
    was answered "Grace Chebet". The question's names and numbers missing from the passage
    (entity_cov) now weigh in the reader's confidence."""
    answer = city_qa.ask(question)
    assert answer.abstained, (answer.short, answer.confidence)
    assert city_qa.ask("Who won the Lakeside City Marathon?").short.text.startswith("Grace Chebet")


def test_falls_back_to_the_composer_without_weights(seed_qa, tmp_path, monkeypatch, caplog):
    # A copy of the manifest whose weights file is missing, then one whose file is damaged.
    meta = json.loads(MANIFEST.read_text())
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps({**meta, "file": "gone.onnx"}))
    damaged_file = tmp_path / "damaged.onnx"
    shutil.copy(MANIFEST.parent / meta["file"], damaged_file)
    with open(damaged_file, "r+b") as f:
        f.seek(1000)
        f.write(b"\0" * 64)
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps({**meta, "file": damaged_file.name}))
    for manifest, words in ((missing, "missing"), (damaged, "damaged")):
        with caplog.at_level(logging.WARNING, logger="citeqa.reader"):
            assert reader_mod._load(manifest) is None
        assert any(words in r.getMessage() for r in caplog.records)
        caplog.clear()
    monkeypatch.setattr(reader_mod, "MANIFEST", missing)
    monkeypatch.setattr(reader_mod, "_cache", {})
    monkeypatch.setattr(type(seed_qa), "reader", property(lambda self: reader_mod.load_reader(missing)))
    answer = seed_qa.ask("Where will the Heydar Aliyev-2023 drills be held?")
    assert not answer.abstained and round_trips(seed_qa, answer)
    assert "Kars" in answer.text  # the composer's sentence


def test_reader_off_by_config(seed_kb, real_embedder):
    from citeqa import Assistant
    from citeqa.config import Config

    qa = Assistant.open(seed_kb, embedder=real_embedder, config=Config(reader=False))
    assert qa.reader is None
    answer = qa.ask("Where will the Heydar Aliyev-2023 drills be held?")
    assert round_trips(qa, answer)
    qa.close()


@pytest.mark.slow  # loads the shipped reader
def test_reads_many_passages_and_odd_text():
    r = load_reader()
    assert r is not None
    assert r.read("Where?", []) == []
    spans = r.read("Where will the drills be held?", ["", "The drills will be held in Kars. " * 80, "x"])
    assert spans[0] is None  # nothing to read
    long = spans[1]
    assert long is not None and "Kars" in long.text  # a passage longer than one window
    assert spans[2] is None or spans[2].text == "x"


@pytest.mark.slow  # loads the shipped reader
def test_nbest_spans_are_disjoint_and_best_first():
    r = load_reader()
    assert r is not None
    text = (
        "The drills will be held in Kars, the ministry said. Last year they took place in Baku. "
        "About 3,000 troops will take part."
    )
    (spans,) = r.read_nbest("Where will the drills be held?", [text], 3)
    assert 2 <= len(spans) <= 3
    assert "Kars" in spans[0].text and spans[0] == r.read("Where will the drills be held?", [text])[0]
    assert [s.margin for s in spans] == sorted((s.margin for s in spans), reverse=True)
    for i, a in enumerate(spans):
        assert text[a.start : a.end] == a.text
        assert all(a.end <= b.start or b.end <= a.start for b in spans[i + 1 :])
    # A text longer than one window: its overlapping windows must not propose the same span twice.
    (long,) = r.read_nbest("Where will the drills be held?", ["The drills will be held in Kars. " * 80], 3)
    assert len({(s.start, s.end) for s in long}) == len(long)
    assert all(a.end <= b.start or b.end <= a.start for i, a in enumerate(long) for b in long[i + 1 :])


def test_reading_windows_take_the_best_sentences_with_their_neighbours():
    from types import SimpleNamespace as NS

    import numpy as np

    from citeqa.answer_direct import reading_windows

    # Two passages of five 10-character sentences each (article offsets = passage offsets + 100).
    def passage(pid: str, start: int):
        return NS(hit=NS(passage=NS(id=pid, start=start, text="x" * 50), rank=1))

    cands = [passage("p1", 100), passage("p2", 200)]
    sents = [
        NS(hit=c.hit, start=c.hit.passage.start + 10 * k, end=c.hit.passage.start + 10 * k + 10)
        for c in cands
        for k in range(5)
    ]
    logits = np.zeros(10)
    logits[[1, 3, 9]] = [3.0, 2.0, 1.0]  # p1: sentences 1 and 3; p2: its last sentence
    got = [(c.hit.passage.id, a, b) for c, a, b in reading_windows(cands, sents, logits, 2, 3)]
    # p1: 0-1-2 and 2-3-4 touch, so one window over all five; p2: sentences 3-4 (no sentence after 4).
    assert got == [("p1", 0, 50), ("p2", 30, 50)]
    assert [(c.hit.passage.id, a, b) for c, a, b in reading_windows(cands, sents, logits, 2, 0)] == [
        ("p1", 0, 50),
        ("p2", 0, 50),
    ]


class _ScriptedReader:
    """Plumbing only: records what it is asked to read and returns the spans it is told to."""

    def __init__(self, find: list[str]) -> None:
        self.find, self.texts = find, []

    def read_nbest(self, question, texts, k):  # type: ignore[no-untyped-def]
        from citeqa.reader import Span

        self.texts += list(texts)
        out = []
        for t in texts:
            spans = [
                Span(t.index(w), t.index(w) + len(w), w, 5.0 - n, 0.0, 0.5)
                for n, w in enumerate(self.find)
                if w in t
            ]
            out.append(spans[:k])
        return out


def test_a_window_starting_its_passage_is_read_after_the_sentence_before_it():
    import numpy as np

    from citeqa.answer_direct import propose
    from citeqa.features import SentenceCandidate
    from citeqa.retrieve import Candidate
    from citeqa.schema import Hit, Passage

    article = (
        'Troops left for the "Steppe-2023" drills, the ministry said.\n\n'
        "The drills will be held in Kars. They last a week."
    )
    start = article.index("The drills")
    passage = Passage("a:1", "a", 1, article[start:], start, len(article))
    hit = Hit(passage, 1.0, 1)
    cand = Candidate(hit, np.zeros((2, 4), dtype=np.float32), 1)
    s1 = article.index("They")
    sents = [
        SentenceCandidate(hit, start, s1 - 1, article[start : s1 - 1], np.zeros(4)),
        SentenceCandidate(hit, s1, len(article), article[s1:], np.zeros(4)),
    ]
    logits = np.array([1.0, 0.0])
    reader = _ScriptedReader(["ministry", "Kars"])  # the context's span ranks first
    props = propose("Where?", reader, [cand], sents, logits, 1, 1, None, 2, {"a": article})
    assert reader.texts == [article]  # the sentence before the passage, then the window
    assert [p.span.text for p in props] == ["Kars"]  # nothing is proposed from the context
    (p,) = props
    assert article[p.start : p.end] == "Kars" and p.quote == "The drills will be held in Kars."
    assert p.features["runner_up"] == 1.0
    # Without the article's text the passage is read alone.
    reader = _ScriptedReader(["Kars"])
    propose("Where?", reader, [cand], sents, logits, 1, 1, None, 2)
    assert reader.texts == [passage.text]
    reader = _ScriptedReader(["week"])
    propose("Where?", reader, [cand], sents, np.array([0.0, 1.0]), 1, 0, None, 2, {"a": article})
    assert reader.texts == [article]  # whole passage (mode 0) starts the passage too
