"""Question-set loaders on tiny files made here, plus a slice of the real SciFact/XQuAD files if present."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from citeqa.datasets import (
    EvalQuestion,
    detect_format,
    load_beir,
    load_csv,
    load_dataset,
    load_jsonl,
    load_squad,
    sample,
)
from citeqa.errors import InputError
from tests.conftest import SHARED_DATA

DATA = Path(os.environ.get("CITEQA_DATA", SHARED_DATA))


def write_beir(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    corpus = [
        {"_id": "d1", "title": "Drills", "text": "Joint drills are held in Kars."},
        {"_id": "d2", "title": "", "text": "Cooperation began in 1992."},
        {"_id": "d3", "title": "Other", "text": "Unrelated."},
    ]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus) + "\n")
    queries = [{"_id": "q1", "text": "Where are the drills?"}, {"_id": "q2", "text": "When did it begin?"}]
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td3\t0\nq2\td2\t1\nq2\td1\t1\nq9\td1\t1\n"
    )
    (root / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\nq2\td2\t1\n")
    return root


def test_beir_folder_graded_qrels_and_split(tmp_path):
    ds = load_beir(write_beir(tmp_path / "tiny"), split="test")
    assert ds.format == "beir" and ds.split == "test" and ds.name == "tiny"
    assert [a.id for a in ds.articles] == ["d1", "d2", "d3"]
    assert ds.articles[0].title == "Drills" and ds.articles[0].text == "Joint drills are held in Kars."
    by_id = {q.id: q for q in ds.questions}
    assert set(by_id) == {"q1", "q2"}  # q9 is judged but has no query text: dropped, as BEIR does
    assert by_id["q1"].relevance == (("d1", 2),)  # d3 judged 0: not relevant
    assert by_id["q1"].relevant_article_ids == ("d1",)
    assert by_id["q2"].relevant_article_ids == ("d1", "d2")
    assert not ds.has_answers
    dev = load_dataset(tmp_path / "tiny", split="dev")
    assert [q.id for q in dev.questions] == ["q2"]
    with pytest.raises(InputError, match="dev, test"):
        load_beir(tmp_path / "tiny", split="validation")
    (tmp_path / "tiny" / "queries.jsonl").write_text('{"_id": "q2", "text": " "}\n')
    with pytest.raises(InputError, match="'q2' has no text"):
        load_beir(tmp_path / "tiny", split="dev")


def test_jsonl_contract_and_errors(tmp_path):
    p = tmp_path / "qs.jsonl"
    rows = [
        {"id": "a", "question": "Where?", "answers": ["Kars", "Kars city"], "relevant_article_ids": ["x"]},
        {"question": "Boiling point of mercury?", "answerable": False},
        {"id": "c", "question": "When?", "answer": "1992", "relevant_passage_ids": ["x#0"]},
    ]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    ds = load_jsonl(p)
    a, b, c = ds.questions
    assert a.answers == ("Kars", "Kars city") and a.relevant_article_ids == ("x",) and a.answerable
    assert b.id == "q2" and not b.answerable and b.answers == ()
    assert c.answers == ("1992",) and c.relevant_passage_ids == ("x#0",)
    assert ds.has_answers and detect_format(p) == "jsonl"

    p.write_text('{"question": "ok"}\n{"question": \n')
    with pytest.raises(InputError, match=r"qs.jsonl:2"):
        load_jsonl(p)
    p.write_text('{"id": "a", "question": "x"}\n{"id": "a", "question": "y"}\n')
    with pytest.raises(InputError, match="twice"):
        load_jsonl(p)
    p.write_text('{"question": "  "}\n')
    with pytest.raises(InputError, match="empty"):
        load_jsonl(p)
    p.write_text('{"question": "x", "answerable": "maybe"}\n')
    with pytest.raises(InputError, match="answerable"):
        load_jsonl(p)


def test_csv_same_columns(tmp_path):
    p = tmp_path / "qs.csv"
    p.write_text(
        "id,question,answers,answerable,relevant_article_ids,relevant_passage_ids\n"
        'a,Where are the drills?,Kars|Kars city,true,"[""x"", ""y""]",\n'
        "b,Boiling point?,,no,,\n"
    )
    ds = load_csv(p)
    a, b = ds.questions
    assert a.answers == ("Kars", "Kars city") and a.relevant_article_ids == ("x", "y") and a.answerable
    assert b.answers == () and not b.answerable
    assert detect_format(p) == "csv" and load_dataset(p).format == "csv"
    (tmp_path / "bad.csv").write_text("q,answers\nx,y\n")
    with pytest.raises(InputError, match="'question' column"):
        load_csv(tmp_path / "bad.csv")


def test_squad_gold_span_is_the_paragraph(tmp_path):
    doc = {
        "version": "1.1",
        "data": [
            {
                "title": "Drills_2023",
                "paragraphs": [
                    {
                        "context": "First paragraph here.",
                        "qas": [
                            {
                                "id": "s1",
                                "question": "Which?",
                                "answers": [{"text": "First", "answer_start": 0}] * 2,
                            }
                        ],
                    },
                    {
                        "context": " Drills are in Kars. ",
                        "qas": [
                            {
                                "id": "s2",
                                "question": "Where?",
                                "answers": [{"text": "Kars", "answer_start": 15}],
                            }
                        ],
                    },
                ],
            }
        ],
    }
    p = tmp_path / "squad.json"
    p.write_text(json.dumps(doc))
    assert detect_format(p) == "squad"
    ds = load_dataset(p)
    (article,) = ds.articles
    assert article.title == "Drills 2023"
    s1, s2 = ds.questions
    assert s1.answers == ("First",)  # duplicate gold answers collapse
    span = s2.relevant_spans[0]
    assert article.text[span.start : span.end] == "Drills are in Kars."
    para = load_squad(p, unit="paragraph")
    assert [a.id for a in para.articles] == ["Drills_2023#0", "Drills_2023#1"]
    p.write_text(json.dumps({"data": [{"title": "x", "paragraphs": [{"qas": []}]}]}))
    with pytest.raises(InputError, match="context"):
        load_squad(p)


def test_detect_format_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        detect_format(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="not a BEIR"):
        detect_format(tmp_path)
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(InputError, match="--format"):
        detect_format(tmp_path / "x.txt")
    with pytest.raises(InputError, match="format must be"):
        load_dataset(tmp_path / "x.txt", format="xml")


def test_sample_is_seeded():
    qs = [EvalQuestion(id=str(i), question=f"q{i}") for i in range(100)]
    assert sample(qs, 10, seed=1) == sample(qs, 10, seed=1)
    assert sample(qs, 10, seed=1) != sample(qs, 10, seed=2)
    assert sample(qs, 500) == qs and sample(qs, None) == qs


@pytest.mark.skipif(not (DATA / "beir_scifact").is_dir(), reason="shared data not present")
def test_real_scifact_test_split():
    ds = load_beir(DATA / "beir_scifact", split="test")
    assert len(ds.questions) == 300 and len(ds.articles) == 5183
    assert sum(len(q.relevant_article_ids) for q in ds.questions) == 339
    ids = {a.id for a in ds.articles}
    assert all(d in ids for q in ds.questions for d in q.relevant_article_ids)
    assert detect_format(DATA / "beir_scifact") == "beir"


@pytest.mark.skipif(not (DATA / "xquad_en").is_dir(), reason="shared data not present")
def test_real_xquad_views():
    beir = load_beir(DATA / "xquad_en" / "beir_mteb_style", split="validation")
    assert len(beir.questions) == 1187 and len(beir.articles) == 240
    squad = load_squad(DATA / "xquad_en" / "xquad.en.json")
    assert len(squad.questions) == 1190 and len(squad.articles) == 48
    texts = {a.id: a.text for a in squad.articles}
    for q in squad.questions[:50]:
        span = q.relevant_spans[0]
        assert any(ans in texts[span.article_id][span.start : span.end] for ans in q.answers)
