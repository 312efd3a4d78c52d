"""Questions over dated news: as of a day, relative time, and the latest account (issue 14)."""

from __future__ import annotations

import datetime as dt

import pytest

from citeqa import Assistant
from citeqa.answer import OUTSIDE_WINDOW
from citeqa.schema import Article

# A count that rises day by day, as wire updates do, and stories on other subjects around it.
_TOLL = "Rescue teams in the Rhine valley said that {n} people have died in the floods since Tuesday."
SERIES = [
    Article(
        id=f"floods-{day}",
        title=f"Flood toll rises to {n}",
        text=_TOLL.format(n=n) + " Roads into the valley stay closed and more rain is expected.",
        source="Valley Post",
        published=f"2024-03-0{day}",
    )
    for day, n in ((1, 12), (2, 19), (3, 27))
] + [
    Article(
        id="bridge",
        title="Harbor bridge reopens",
        text="The harbor bridge reopened to traffic on Monday after two years of repairs.",
        source="City Desk",
        published="2024-02-12",
    ),
    Article(
        id="election",
        title="Mayor resigns",
        text="Mayor Anna Berg resigned on Tuesday, citing health reasons. Her deputy takes over.",
        source="City Desk",
        published="2024-03-05",
    ),
    Article(
        id="minister",
        title="Minister steps down",
        text="Transport minister Paul Kern resigned on Monday after the rail strike. A successor is due.",
        source="Capital Wire",
        published="2024-02-19",
    ),
]


@pytest.fixture(scope="module")
def dated_kb(tmp_path_factory, real_embedder):
    path = tmp_path_factory.mktemp("dated") / "kb"
    Assistant.build(SERIES, kb=path, embedder=real_embedder, progress=False).close()
    return path


@pytest.fixture()
def dated_qa(dated_kb, real_embedder):
    qa = Assistant.open(dated_kb, embedder=real_embedder)
    yield qa
    qa.close()


@pytest.mark.parametrize(
    ("as_of", "count"), [("2024-03-01", "12"), ("2024-03-02", "19"), ("2024-03-03", "27")]
)
def test_the_answer_is_the_latest_account_as_of_the_day_asked(dated_qa, as_of, count):
    answer = dated_qa.ask("How many people have died in the floods?", as_of=as_of)
    assert not answer.abstained
    assert answer.short is not None and answer.short.text == count
    cited = {c.article_id for c in answer.citations}
    assert cited == {f"floods-{as_of[-1]}"}
    for c in answer.citations:  # later articles are invisible: not cited, not among the passages
        assert c.published <= as_of
    assert all(h.passage.article_id != "floods-3" for h in answer.hits) or as_of == "2024-03-03"
    if as_of != "2024-03-01":  # an earlier account said otherwise: the answer says which day it is from
        assert answer.as_of == as_of and f"(as of {as_of})" in answer.text
        assert answer.to_dict()["as_of"] == as_of


def test_without_a_day_an_old_archive_is_asked_as_of_its_newest_article(dated_qa):
    answer = dated_qa.ask("How many people have died in the floods this week?")
    assert answer.short is not None and answer.short.text == "27"
    # today is long after March 2024: the week is the newest article's, and the answer says so
    assert "newest article" in answer.note and "2024-03-04 to 2024-03-05" in answer.note


@pytest.mark.parametrize(
    ("question", "article", "read_as"),
    [
        ("Who resigned yesterday?", "election", "“yesterday” read as 2024-03-05"),
        ("Who resigned last month?", "minister", "“last month” read as 2024-02-01 to 2024-02-29"),
        ("Who resigned this week?", "election", "“this week” read as 2024-03-04 to 2024-03-06"),
    ],
)
def test_relative_time_prefers_articles_of_its_window(dated_qa, question, article, read_as):
    answer = dated_qa.ask(question, as_of="2024-03-06")
    assert answer.citations and answer.citations[0].article_id == article
    assert read_as in answer.note


def test_scope_filters_inside_retrieval(dated_qa):
    only = dated_qa.ask("How many people have died in the floods?", articles=["floods-1"])
    assert {h.passage.article_id for h in only.hits} == {"floods-1"}
    assert only.short is not None and only.short.text == "12"
    desk = dated_qa.ask("What reopened?", sources=["City Desk"], until="2024-02-28")
    assert {h.passage.article_id for h in desk.hits} == {"bridge"}
    nothing = dated_qa.ask("What reopened?", since="2030-01-01")
    assert nothing.abstained and not nothing.hits


def test_bad_scope_values_are_clear_errors(dated_qa):
    from citeqa import InputError

    with pytest.raises(InputError, match="as_of must be a date like 2024-03-05"):
        dated_qa.ask("What reopened?", as_of="last Tuesday")
    with pytest.raises(InputError, match="since .* is after until"):
        dated_qa.ask("What reopened?", since=dt.date(2024, 3, 5), until="2024-03-01")


def test_the_command_line_asks_as_of_a_day_and_within_a_scope(dated_kb, capsys, monkeypatch):
    import json

    from citeqa.cli import main

    args = ["ask", "How many people have died in the floods?", "--kb", str(dated_kb)]
    assert main([*args, "--as-of", "2024-03-02", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["short"]["text"] == "19" and out["as_of"] == "2024-03-02"
    assert [c["published"] for c in out["citations"]] == ["2024-03-02"]
    assert main([*args, "--article", "floods-1", "--source", "Valley Post", "--until", "2024-03-01"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("12.") and "Flood toll rises to 12, 2024-03-01" in text
    assert main(["ask", "Who resigned yesterday?", "--kb", str(dated_kb), "--as-of", "2024-03-06"]) == 0
    assert "(“yesterday” read as 2024-03-05 (as of 2024-03-06))" in capsys.readouterr().out
    assert main([*args, "--as-of", "tomorrow"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "citeqa: error: --as-of must be a date like 2024-03-05 (or 'today'), got 'tomorrow'"


def test_eval_honours_each_questions_day_and_splits_timed_questions(dated_kb, tmp_path, capsys):
    import json

    from citeqa.cli import main

    rows = [
        {
            "id": "t1",
            "question": "How many people have died in the floods?",
            "answers": ["12"],
            "as_of": "2024-03-01",
        },
        {
            "id": "t2",
            "question": "How many people have died in the floods?",
            "answers": ["19"],
            "as_of": "2024-03-02",
        },
        {"id": "t3", "question": "Who resigned yesterday?", "answers": ["Anna Berg"], "as_of": "2024-03-06"},
        {"id": "t4", "question": "Who resigned last month?", "answers": ["Paul Kern"], "as_of": "2024-03-06"},
    ]
    qs = tmp_path / "dated.jsonl"
    qs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["eval", str(qs), "--kb", str(dated_kb), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["answer_hit"] == 1.0 and m["n_timed"] == 2.0
    assert m["answer_hit_timed"] == 1.0 and m["answer_hit_untimed"] == 1.0
    summary = capsys.readouterr().out.splitlines()  # the split is in the text summary too, under answer_hit
    at = next(i for i, line in enumerate(summary) if line.split()[:1] == ["answer_hit"])
    tail = "; those without a gold answer not scored)"
    assert (
        summary[at + 1].split()
        == f"answer_hit_timed 1.0000 (2 questions with a time expression{tail}".split()
    )
    assert summary[at + 2].split() == f"answer_hit_untimed 1.0000 (2 questions without{tail}".split()
    results = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert [r["as_of"] for r in results] == ["2024-03-01", "2024-03-02", "2024-03-06", "2024-03-06"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "Who?", "as_of": "soon"}) + "\n")
    assert main(["eval", str(bad), "--kb", str(dated_kb)]) == 2
    assert (
        "bad.jsonl:1: as_of must be a date like 2024-03-05 (or 'today'), got 'soon'"
        in capsys.readouterr().err
    )


def test_chat_keeps_its_scope_for_every_question(dated_kb, monkeypatch, capsys):
    import io

    from citeqa.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("How many people have died in the floods?\n\n"))
    assert main(["chat", "--kb", str(dated_kb), "--as-of", "2024-03-02"]) == 0
    # The greeting names the knowledge base's folder, whose temporary path may hold any digits.
    out = capsys.readouterr().out.split("quits.", 1)[1]
    assert "19 (as of 2024-03-02)." in out and "27" not in out
    assert main(["chat", "--kb", str(dated_kb), "--since", "March"]) == 2
    assert "--since must be a date like 2024-03-05" in capsys.readouterr().err


# Reports of one earthquake worded differently day by day (the figure is not the only change), two
# reports of one day, and resignations: different stories that must not pass for updates.
QUAKE = [
    Article(id="quake-1", title="Earthquake strikes Ardenia", source="Valley Times", published="2024-05-06",
            text="The earthquake that struck the northern province of Ardenia on Monday has killed 14 "
            "people, officials said. Rescue teams from the capital arrived in the town of Morvel late "
            "in the evening. More than 400 homes were damaged in Morvel."),
    Article(id="quake-2", title="Ardenia quake toll climbs", source="Valley Times",
            published="2024-05-07T09:15:00+02:00",
            text="The death toll from the earthquake in northern Ardenia has risen to 31, the interior "
            "ministry said on Tuesday. Hundreds of families spent the night in tents outside Morvel."),
    Article(id="quake-3", title="Ardenia earthquake: toll reaches 58", source="Coast Herald",
            published="2024-05-08T08:00:00+00:00",
            text="The number of people killed by the earthquake in northern Ardenia has reached 58, "
            "according to the interior ministry. Aftershocks continued to shake Morvel on Wednesday."),
    Article(id="quake-4", title="Ardenia quake: toll rises again", source="Coast Herald",
            published="2024-05-08T20:00:00+00:00",
            text="The number of people killed by the earthquake in northern Ardenia has reached 63, "
            "according to the interior ministry. Rescuers in Morvel worked through the night and "
            "recovered three more bodies."),
    Article(id="hadrel", title="Prime minister of Belvaria resigns", source="Coast Herald",
            published="2024-04-15T08:00:00+01:00",
            text="Belvaria's prime minister, Tomas Hadrel, resigned on Monday after losing a confidence "
            "vote in parliament by 12 votes. The finance minister will lead a caretaker government."),
    Article(id="rinn", title="Mayor of Portalen quits", source="Valley Times", published="2024-04-30",
            text="The mayor of Portalen, Elsa Rinn, resigned on Tuesday after a row over the harbour "
            "budget. Her deputy will run the city until an election in autumn."),
    Article(id="volk", title="President Volk resigns", source="Coast Herald", published="2024-05-08",
            text="Belvaria's president, Irena Volk, resigned on Wednesday, citing ill health. The "
            "speaker of parliament becomes acting head of state until a new president is chosen."),
]  # fmt: skip


@pytest.fixture(scope="module")
def quake_qa(tmp_path_factory, real_embedder):
    path = tmp_path_factory.mktemp("quake") / "kb"
    with Assistant.build(QUAKE, kb=path, embedder=real_embedder, progress=False) as qa:
        yield qa


@pytest.mark.parametrize(
    ("question", "as_of", "count", "shown"),
    [
        ("How many people have died in Ardenia so far?", "2024-05-06", "14", ""),
        ("How many people have died in Ardenia so far?", "2024-05-07", "31", "2024-05-07"),
        # two reports of one day: the later one, and the answer gives its time
        ("How many people have died in Ardenia so far?", "2024-05-09", "63", "2024-05-08 20:00 UTC"),
        ("What is the latest death toll in Ardenia?", None, "63", "2024-05-08 20:00 UTC"),
    ],
)
def test_the_latest_of_differently_worded_reports_wins(quake_qa, question, as_of, count, shown):
    answer = quake_qa.ask(question, as_of=as_of)
    assert answer.short is not None and answer.short.text == count
    assert (f"(as of {shown})" in answer.text) if shown else not answer.as_of


def test_a_later_reports_other_figure_is_not_an_update(quake_qa):
    """The fourth report's "three more bodies" is a figure of the same story, but not of homes."""
    answer = quake_qa.ask("How many homes were damaged in Ardenia?")
    assert answer.short is not None and "400" in answer.short.text and not answer.as_of


def test_different_stories_are_not_updates_of_each_other(quake_qa):
    """Two resignations a fortnight apart answer "Who resigned?" differently, but the later one is
    another story, not a later account of the first: nothing says "as of"."""
    answer = quake_qa.ask("Who resigned in Portalen or Belvaria?", as_of="2024-05-01")
    assert not answer.abstained and not answer.as_of


@pytest.mark.parametrize(
    ("question", "as_of", "article", "outside"),
    [
        ("Who resigned this week?", "2024-05-09", "volk", False),
        ("Who resigned last week?", "2024-05-09", "rinn", False),
        ("Who resigned in May?", "2024-05-20", "volk", False),
        # nothing was published that day: an answer from another day, and it says so
        ("Who resigned yesterday?", "2024-05-20", None, True),
    ],
)
def test_a_questions_window_answers_first_and_says_when_it_could_not(
    quake_qa, question, as_of, article, outside
):
    answer = quake_qa.ask(question, as_of=as_of)
    assert not answer.abstained
    if article:
        assert answer.citations[0].article_id == article
    assert (OUTSIDE_WINDOW in answer.note) is outside


def test_an_undated_article_is_not_said_to_be_from_another_day(tmp_path, real_embedder):
    undated = [
        Article(id="mayor", title="Mayor resigns", text="Mayor Anna Berg resigned, citing health reasons.")
    ]
    with Assistant.build(undated, kb=tmp_path / "kb", embedder=real_embedder, progress=False) as qa:
        answer = qa.ask("Who resigned this week?", as_of="2024-03-06")
    assert not answer.abstained and "this week" in answer.note
    assert OUTSIDE_WINDOW not in answer.note
