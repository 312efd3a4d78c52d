"""Near copies in the knowledge base (kb/copies.py): grouped at ingest, within a batch and against
what is stored; the canonical copy; removal and updates; old knowledge bases; verify and repair."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from citeqa import Assistant
from citeqa.cli import main
from citeqa.config import Config
from citeqa.kb import copies
from citeqa.schema import Article
from tests.syndicated_story import OTHER_SAME_TOPIC, TRIMMED, WIRE, story_articles


def _build(tmp_path, hash_embedder, articles=None):
    return Assistant.build(
        articles or story_articles(), kb=tmp_path / "kb", embedder=hash_embedder, progress=False
    )


def test_copies_are_grouped_at_ingest_and_the_earliest_is_canonical(tmp_path, hash_embedder):
    with _build(tmp_path, hash_embedder) as qa:
        group = qa.kb.group("local")
        assert group is not None and group.canonical == "wire"
        assert group.ids == ("wire", "reuters", "local")  # by publication time
        assert [m.source for m in group.others("wire")] == ["Reuters", "Local Herald"]
        assert qa.kb.group("reuters") == group
        assert qa.kb.group("drivers").ids == ("drivers",)  # same topic, another story: alone
        assert qa.kb.group("bridge").ids == ("bridge",)
        assert qa.kb.group("nope") is None
        assert set(qa.kb.groups(["wire", "drivers", "bridge"])) == {"wire"}  # only articles with copies
        assert qa.verify() == []


def test_copies_are_found_among_stored_articles_and_across_batches(tmp_path, hash_embedder):
    arts = {a.id: a for a in story_articles()}
    with _build(tmp_path, hash_embedder, [arts["local"], arts["bridge"]]) as qa:
        assert qa.kb.group("local").ids == ("local",)
        qa.add([arts["reuters"], arts["drivers"]], progress=False)
        assert qa.kb.group("local").ids == ("reuters", "local")
        qa.add([arts["wire"]], progress=False)  # earlier than both: it becomes canonical
        assert qa.kb.group("local").ids == ("wire", "reuters", "local")
        report = qa.add(list(arts.values()), progress=False)  # re-ingest: nothing changes
        assert len(report.unchanged) == 5 and qa.kb.group("local").ids == ("wire", "reuters", "local")


def test_groups_do_not_depend_on_the_order_articles_came_in(tmp_path, hash_embedder):
    arts = story_articles()
    seen = []
    for n, order in enumerate([arts, arts[::-1], arts[2:] + arts[:2]]):
        with Assistant.build(order, kb=tmp_path / f"kb{n}", embedder=hash_embedder, progress=False) as qa:
            seen.append({a.id: qa.kb.group(a.id).ids for a in arts})
    assert seen[0] == seen[1] == seen[2]


def test_canonical_order_dated_first_then_earliest_added_then_id(tmp_path, hash_embedder):
    undated = Article("a-undated", "Ferry", WIRE, "X")
    same_day = [Article(i, "Ferry", WIRE, "X", published="2024-03-05") for i in ("z-first", "b-second")]
    with _build(tmp_path, hash_embedder, [undated]) as qa:
        qa.add([same_day[0]], progress=False)  # added before b-second, so canonical despite its id
        qa.add([same_day[1]], progress=False)
        assert qa.kb.group("a-undated").ids == ("z-first", "b-second", "a-undated")
    assert copies.order_key("b", "2024-03-05", 1.0) < copies.order_key("a", "2024-03-05", 2.0)
    assert copies.order_key("b", "2024-03-05", 1.0) < copies.order_key("a", "2024-03-05T00:00:00+00:00", 2.0)
    assert copies.order_key("a", "", 0.0) > copies.order_key("b", "1999-01-01", 9.0)


def test_removing_the_canonical_copy_makes_the_next_earliest_canonical(tmp_path, hash_embedder):
    with _build(tmp_path, hash_embedder) as qa:
        qa.remove("wire")
        assert qa.kb.group("local").ids == ("reuters", "local")
        qa.remove("local")
        assert qa.kb.group("reuters").ids == ("reuters",)
        assert qa.verify() == []


def test_removing_the_copy_that_joined_two_others_splits_them(tmp_path, hash_embedder):
    paras, others = WIRE.split("\n\n"), OTHER_SAME_TOPIC.split("\n\n")
    first, second = "\n\n".join(paras[:3]), "\n\n".join(others[:3])
    bridge = "\n\n".join(paras[:3] + others[:3])  # holds both: a copy of each, they of each other not
    arts = [
        Article("first", "A", first, published="2024-01-01"),
        Article("second", "B", second, published="2024-01-02"),
        Article("both", "C", bridge, published="2024-01-03"),
    ]
    with _build(tmp_path, hash_embedder, arts) as qa:
        assert qa.kb.group("second").ids == ("first", "second", "both")
        qa.remove("both")
        assert qa.kb.group("first").ids == ("first",) and qa.kb.group("second").ids == ("second",)


def test_an_update_that_is_no_longer_a_copy_leaves_the_group(tmp_path, hash_embedder):
    with _build(tmp_path, hash_embedder) as qa:
        rewritten = replace(story_articles()[1], text=OTHER_SAME_TOPIC.replace("Monday", "Sunday"))
        report = qa.add([rewritten], progress=False)
        assert report.updated == ("reuters",)
        assert qa.kb.group("wire").ids == ("wire", "local")
        assert qa.kb.group("reuters").ids == ("drivers", "reuters")  # now a copy of the other story


def _make_old(path) -> None:
    """What a knowledge base written before near copies looks like: neither table, no setting."""
    with sqlite3.connect(path / "kb.sqlite") as conn:
        conn.execute("DROP TABLE copy_bands")
        conn.execute("DROP TABLE copy_docs")
        conn.execute("DELETE FROM meta WHERE key='copies'")


def test_an_old_knowledge_base_opens_answers_and_is_filled_by_its_next_write(tmp_path, hash_embedder):
    _build(tmp_path, hash_embedder).close()
    _make_old(tmp_path / "kb")
    with Assistant.open(tmp_path / "kb", embedder=hash_embedder, config=Config(reader=False)) as qa:
        assert qa.verify() == []  # not damage: filled by the next write
        assert "never computed" in qa.kb.copies_problem()
        assert qa.kb.group("reuters").ids == ("reuters",)  # every article alone until then
        hits = qa.search("How many passengers and trucks did the ferry carry?", top_k=5)
        assert {h.passage.article_id for h in hits} >= {"wire", "reuters"} and not any(
            h.also_in for h in hits
        )
        answer = qa.ask("How many passengers and trucks did the ferry carry?")
        assert "also_in" not in str(answer.to_dict())
        qa.add(
            [Article("new", "Another", "Something else entirely happened in Ganja on Friday.")],
            progress=False,
        )
        assert qa.kb.copies_problem() == ""
        assert qa.kb.group("reuters").ids == ("wire", "reuters", "local")


def test_repair_computes_missing_or_damaged_groups_from_the_stored_texts(tmp_path, hash_embedder, capsys):
    _build(tmp_path, hash_embedder).close()
    kb = tmp_path / "kb"
    _make_old(kb)
    assert main(["repair", "--kb", str(kb)]) == 0
    assert "near-copy groups were never computed" in capsys.readouterr().out
    with Assistant.open(kb, embedder=hash_embedder) as qa:
        assert qa.kb.group("local").ids == ("wire", "reuters", "local")
    with sqlite3.connect(kb / "kb.sqlite") as conn:
        conn.execute("DELETE FROM copy_docs WHERE article_id='reuters'")
    with Assistant.open(kb, embedder=hash_embedder) as qa:
        assert qa.verify() == [
            "the near-copy groups cover 4 of 5 articles (and 0 that are gone); run `citeqa repair`"
        ]
    assert main(["repair", "--kb", str(kb)]) == 0
    assert "computed them again from the 5 stored article texts" in capsys.readouterr().out
    with Assistant.open(kb, embedder=hash_embedder) as qa:
        assert qa.verify() == [] and qa.kb.group("local").ids == ("wire", "reuters", "local")
    assert main(["repair", "--kb", str(kb)]) == 0
    assert "nothing needed repairing" in capsys.readouterr().out


@pytest.mark.parametrize("text", [TRIMMED[:40], ""])
def test_too_short_to_tell_is_never_grouped(tmp_path, hash_embedder, text):
    arts = [Article("x", "A", TRIMMED[:40]), Article("y", "B", text or "Short.")]
    with _build(tmp_path, hash_embedder, arts) as qa:
        assert qa.kb.group("x").ids == ("x",)
