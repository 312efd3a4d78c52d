"""End to end on the seed article with the real MiniLM and the real FAISS."""

from __future__ import annotations

import json

import pytest

from citeqa import Assistant, InputError
from citeqa.schema import Article
from tests.conftest import round_trips


def test_where_question_cites_kars(seed_qa):
    answer = seed_qa.ask("Where will the Heydar Aliyev-2023 drills be held?")
    assert not answer.abstained
    assert any("Kars" in c.quote for c in answer.citations)
    assert round_trips(seed_qa, answer)


def test_every_citation_round_trips_and_json_shape(seed_qa):
    answer = seed_qa.ask("What is the main purpose of the drills?", top_k=3)
    assert round_trips(seed_qa, answer)
    d = json.loads(json.dumps(answer.to_dict()))
    assert set(d) >= {"question", "answer", "abstained", "confidence", "sentences", "citations", "passages"}
    assert len(d["passages"]) == 3
    assert [p["rank"] for p in d["passages"]] == [1, 2, 3]
    c = d["citations"][0]
    assert set(c) == {
        "n",
        "article_id",
        "passage_id",
        "start",
        "end",
        "quote",
        "title",
        "source",
        "published",
    }
    assert c["published"] == "2023-04-18T11:09:00+04:00"
    assert all(f"[{n}]" in d["answer"] for s in d["sentences"] for n in s["citations"])


def test_hits_are_ranked_passages_with_offsets(seed_qa):
    hits = seed_qa.search("memorandum of alliance", top_k=4)
    assert [h.rank for h in hits] == [1, 2, 3, 4]
    assert hits[0].score >= hits[1].score >= hits[3].score
    text = seed_qa.article(hits[0].passage.article_id).text
    for h in hits:
        assert text[h.passage.start : h.passage.end] == h.passage.text
    assert "memorandum" in hits[0].passage.text


@pytest.mark.parametrize("question", ["", "   \n ", "?!", "x" * 5000])
def test_bad_questions_raise_clear_errors(seed_qa, question):
    with pytest.raises(InputError) as info:
        seed_qa.ask(question)
    assert "question" in str(info.value)


@pytest.mark.parametrize("top_k", [0, -1, 101, "3"])
def test_bad_top_k(seed_qa, top_k):
    with pytest.raises(InputError, match="top_k"):
        seed_qa.ask("Where are the drills?", top_k=top_k)


def test_add_is_idempotent_and_update_replaces(seed_qa):
    before = seed_qa.kb.counts()
    report = seed_qa.add([seed_qa.article("heydar-aliyev-2023-drills")])
    assert report.unchanged == ("heydar-aliyev-2023-drills",) and report.passages == 0
    assert seed_qa.kb.counts() == before

    new = Article(id="note", title="Staff note", text="The canteen will close at 4 pm on Friday.")
    assert seed_qa.add([new]).added == ("note",)
    changed = Article(id="note", title="Staff note", text="The canteen will now close at 6 pm on Monday.")
    report = seed_qa.add([changed])
    assert report.updated == ("note",)
    answer = seed_qa.ask("When will the canteen close?")
    assert "6 pm" in answer.citations[0].quote
    assert all("4 pm" not in h.passage.text for h in answer.hits)


def test_records_are_ingested_and_removed_without_trace(seed_qa):
    report = seed_qa.add(
        [{"id": "r1", "title": "Harbour", "text": "The harbour in Baku was dredged in May."}]
    )
    assert report.added == ("r1",)
    assert seed_qa.search("harbour dredged", top_k=1)[0].passage.article_id == "r1"
    seed_qa.remove("r1")
    assert all(h.passage.article_id != "r1" for h in seed_qa.search("harbour dredged", top_k=10))
    assert seed_qa.kb.passage_ids_of("r1") == []
    assert seed_qa.verify() == []
    with pytest.raises(InputError, match="no article"):
        seed_qa.remove("r1")


def test_reopen_sees_the_same_state(seed_qa, real_embedder):
    seed_qa.add([Article(id="x", title="X", text="Kangaroos were seen near the stadium on Sunday.")])
    path = seed_qa.kb.path
    seed_qa.close()
    qa = Assistant.open(path, embedder=real_embedder)
    assert qa.search("kangaroos", top_k=1)[0].passage.article_id == "x"
    assert qa.verify() == []


@pytest.mark.filterwarnings("ignore::citeqa.encoding.EncodingNote")
def test_cp1252_and_utf16_articles_are_answered_with_citations_that_round_trip(tmp_path, real_embedder):
    cafe = (
        "title: Café Müller reopens\ndate: 2023-05-02\n\n"
        "The Café Müller – known in Kars as “the blue house” – reopened on Tuesday after two years. "
        "Its owner, José Peña, said the crème brûlée stays on the menu.\n"
    )
    bridge = (
        "Title: Araz bridge\n\nThe “friendship” bridge over the Araz river – 212 metres long – "
        "opened to lorries on Friday. Its toll is 5 € a crossing.\n"
    )
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "cafe.txt").write_bytes(cafe.encode("cp1252"))
    (tmp_path / "docs" / "bridge.txt").write_bytes(bridge.encode("utf-16"))
    qa = Assistant.build([tmp_path / "docs"], kb=tmp_path / "kb", embedder=real_embedder, progress=False)
    assert sorted(a.id for a in qa.articles()) == ["bridge", "cafe"]
    assert qa.article("cafe").text == cafe.split("\n\n", 1)[1].strip()  # the decoded text is stored
    assert qa.article("cafe").title == "Café Müller reopens"
    for question, words in [
        ("What stays on the menu at the Café Müller?", "crème brûlée"),
        ("How long is the friendship bridge over the Araz river?", "212 metres"),
    ]:
        answer = qa.ask(question)
        assert any(words in c.quote for c in answer.citations), answer.text
        assert round_trips(qa, answer)
    qa.close()


def test_the_facade_answers_what_the_page_shows_about_its_knowledge_base(seed_kb, real_embedder, tmp_path):
    import shutil

    folder = tmp_path / "kb"
    shutil.copytree(seed_kb, folder)
    with Assistant.open(str(folder), embedder=real_embedder) as qa:
        assert qa.path == folder  # a Path, whatever it was opened with
        n = qa.counts()
        assert n["articles"] == 1 and n["passages"] >= 1
        qa.add([Article(id="x", title="X", text="Kangaroos were seen near the stadium on Sunday.")])
        assert qa.counts() == {"articles": 2, "passages": n["passages"] + 1}
