"""Retrieval shows one copy of each story (stories.py): the earliest copy is cited, the others are
named in `also_in`, collapsing never shrinks the sources, and the answer's JSON and the command line
carry the other copies."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from citeqa import Assistant, nearcopy, retrieve
from citeqa.cli_answer import print_answer
from citeqa.config import Config
from citeqa.schema import Answer, AnswerSentence, Article, Citation, StoryCopy
from citeqa.scope import Scope
from tests.syndicated_story import WIRE, story_articles

STORY = {"wire", "reuters", "local"}
QUESTION = "How many passengers and trucks did the ferry Professor Gul carry on its first crossing?"


@pytest.fixture()
def qa(tmp_path, hash_embedder):
    cfg = Config(reader=False)  # the sentence composer: no model in a fast test
    with Assistant.build(
        story_articles(), kb=tmp_path / "kb", embedder=hash_embedder, config=cfg, progress=False
    ) as qa:
        yield qa


def _no_two_are_copies(hits) -> bool:
    bodies = [nearcopy.body(h.passage.text) for h in hits]
    return not any(nearcopy.same_story(a, b) for i, a in enumerate(bodies) for b in bodies[i + 1 :])


def test_three_copies_give_one_passage_citing_the_earliest_and_naming_the_others(qa):
    hits = qa.search(QUESTION, top_k=5)
    story = [h for h in hits if h.passage.article_id in STORY]
    assert story and all(h.passage.article_id == "wire" for h in story)  # the earliest copy
    assert _no_two_are_copies(hits)
    assert "120 passengers and 42 trucks" in story[0].passage.text
    assert [c.article_id for c in story[0].also_in] == ["reuters", "local"]  # earliest first
    assert story[0].also_in[0] == StoryCopy(
        "reuters", "Baku-Aktau ferry back in service", "Reuters", "2024-03-05T09:00:00+04:00"
    )
    others = [h for h in hits if h.passage.article_id not in STORY]
    assert {h.passage.article_id for h in others} <= {"drivers", "bridge"}
    assert not any(h.also_in for h in others)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_collapse_never_shrinks_the_sources(qa):
    hits = qa.search(QUESTION, top_k=3)
    assert len(hits) == 3 and _no_two_are_copies(hits)


def test_deeper_candidates_fill_back_when_one_story_has_many_copies(tmp_path, hash_embedder, monkeypatch):
    brief = "The ferry Professor Gul carried 120 passengers and 42 trucks from Baku to Aktau on Tuesday."
    copies = [Article(f"c{i:02d}", f"Ferry {i}", f"(Outlet {i}) - {brief}", f"Outlet {i}") for i in range(70)]
    # The wire story's paragraphs as five articles of their own: different texts, one topic.
    others = [Article(f"o{i}", f"Other {i}", p) for i, p in enumerate(WIRE.split("\n\n"))]
    cfg = Config(reader=False, candidates=10)  # each ranker's first 10: all copies of the brief
    question = "Which ferry carried 120 passengers and 42 trucks to Aktau?"
    with Assistant.build(
        copies + others, kb=tmp_path / "kb", embedder=hash_embedder, config=cfg, progress=False
    ) as qa:
        assert len(qa.kb.group("c05").ids) == 70
        with monkeypatch.context() as m:
            m.setattr(retrieve, "MAX_DEPTH", 10)  # no deeper search: the copies take the sources
            assert len(qa.search(question, top_k=5)) < 5
        hits = qa.search(question, top_k=5)
        assert len(hits) == 5
        assert sum(h.passage.article_id.startswith("c") for h in hits) == 1
        assert len(next(h for h in hits if h.passage.article_id.startswith("c")).also_in) == 69


def test_a_passage_the_earliest_copy_lacks_is_cited_from_a_copy_that_has_it(tmp_path, hash_embedder):
    arts = {a.id: a for a in story_articles()}
    arts["local"] = replace(arts["local"], published="2024-03-05T06:00:00+04:00")  # the trimmed one first
    with Assistant.build(
        list(arts.values()), kb=tmp_path / "kb", embedder=hash_embedder, progress=False
    ) as qa:
        assert qa.kb.group("wire").canonical == "local"
        hits = qa.search("Traders welcomed the news: how much had the pause cost exporters?", top_k=5)
        top = next(h for h in hits if h.passage.article_id in STORY)
        assert "cost exporters millions" in top.passage.text
        assert top.passage.article_id == "wire"  # the earliest copy that has it (local was cut there)
        assert [c.article_id for c in top.also_in] == ["local", "reuters"]


def test_a_scope_limits_the_copies_shown_and_cited(qa):
    hits = qa.search(QUESTION, top_k=5, scope=Scope.of(sources=["Reuters"]))
    assert {h.passage.article_id for h in hits} == {"reuters"}
    assert not any(h.also_in for h in hits)  # the others are outside the scope


def test_the_answer_json_carries_the_other_copies(qa):
    answer = qa.ask(QUESTION)
    data = answer.to_dict()
    story = [p for p in data["passages"] if p["article_id"] in STORY]
    assert story and story[0]["also_in"][0] == {
        "article_id": "reuters",
        "title": "Baku-Aktau ferry back in service",
        "source": "Reuters",
        "published": "2024-03-05T09:00:00+04:00",
    }
    assert all("also_in" not in p for p in data["passages"] if p["article_id"] not in STORY)  # additive
    for c in answer.citations:  # a citation carries its hit's copies
        hit = next(h for h in answer.hits if h.passage.id == c.passage_id)
        assert c.also_in == hit.also_in
        assert ("also_in" in c.to_dict()) == bool(c.also_in)


def test_ask_prints_the_other_copies_under_a_citation():
    copies = (
        StoryCopy("reuters", "Baku-Aktau ferry back in service", "Reuters", "2024-03-05T09:00:00+04:00"),
        StoryCopy("local", "", "", ""),
    )
    quote = "The vessel Professor Gul carried 120 passengers and 42 trucks on its first crossing"
    start = WIRE.index(quote)
    cite = Citation(1, "wire", "wire#1", start, start + len(quote), quote, "Caspian ferry resumes", "Wire",
                    "2024-03-05", also_in=copies)  # fmt: skip
    answer = Answer("How many?", quote, (AnswerSentence(quote, (1,)),), (cite,), (), False, 0.9)
    out = io.StringIO()
    print_answer(answer, out)
    assert (
        "    also in: Baku-Aktau ferry back in service (Reuters, 2024-03-05 09:00 +04:00), local\n"
        in out.getvalue()
    )


def test_with_the_real_model_the_answer_cites_the_earliest_copy_and_names_the_others(tmp_path, real_embedder):
    from tests.conftest import round_trips

    with Assistant.build(story_articles(), kb=tmp_path / "kb", embedder=real_embedder, progress=False) as qa:
        answer = qa.ask(QUESTION)
        assert not answer.abstained and "120" in answer.text and round_trips(qa, answer)
        (cite,) = [c for c in answer.citations if c.article_id in STORY]
        assert cite.article_id == "wire"
        assert [c.article_id for c in cite.also_in] == ["reuters", "local"]
        assert _no_two_are_copies(answer.hits)
        assert sum(h.passage.article_id in STORY for h in answer.hits) <= 2  # the story's own passages


def test_an_update_with_a_new_figure_is_not_collapsed_into_the_earlier_report(tmp_path, hash_embedder):
    from tests.test_answer_dates import SERIES

    floods = [a for a in SERIES if a.id.startswith("floods-")]
    with Assistant.build(floods, kb=tmp_path / "kb", embedder=hash_embedder, progress=False) as qa:
        assert len(qa.kb.group("floods-2").ids) == 3  # one story at ingest: the same wire text...
        hits = qa.search("How many people have died in the floods?", top_k=5)
        # ...but three figures (12, 19, 27): each report stays, so the latest can win as of a day
        assert sorted(h.passage.article_id for h in hits) == ["floods-1", "floods-2", "floods-3"]
        assert not any(h.also_in for h in hits)  # and none is named as a copy of the others


def test_a_written_answer_keeps_the_other_copies(qa):
    """A language model's answer builds its citations like an extractive one: 'also in' included."""
    from tests.llm_server import ScriptedLLM, passage_with

    with ScriptedLLM() as llm:
        llm.script = lambda r: (
            f"It carried 120 passengers and 42 trucks [{passage_with(r, '120 passengers')}]."
        )
        qa.config = qa.config.with_(llm_url=llm.url, llm_model="scripted", llm_timeout=2.0)
        answer = qa.ask(QUESTION)
    assert answer.mode == "llm" and [s.supported for s in answer.sentences] == [True]
    (cite,) = answer.citations
    assert cite.article_id == "wire" and [c.article_id for c in cite.also_in] == ["reuters", "local"]
    assert cite.to_dict()["also_in"][0]["article_id"] == "reuters"


def test_the_markdown_export_names_the_other_copies(qa):
    chat = qa.chat()
    answer = chat.ask(QUESTION)
    assert any(c.article_id == "wire" and c.also_in for c in answer.citations)
    assert (
        "Also in: Baku-Aktau ferry back in service (Reuters, 2024-03-05 09:00 +04:00), Ferry sails again"
        in (chat.to_markdown())
    )
