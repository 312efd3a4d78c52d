"""The chat page without a browser: HTML escaping, upload safety, per-tab sessions, `citeqa serve`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import fields, replace
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from citeqa.kb import ArticleInfo
from citeqa.schema import (
    Answer,
    AnswerSentence,
    Article,
    Citation,
    Hit,
    IngestReport,
    Passage,
    ShortAnswer,
    Skipped,
)
from citeqa_app import render, render_library, storage
from citeqa_app.events import PageClick
from citeqa_app.uploads import UploadError, UploadLimits, safe_name, stage

EVIL = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]


def active_content(html: str) -> list[str]:
    """Elements or attributes that could run code or load something: must be none."""
    found = _Elements(html)
    bad = [
        t for t in found.tags if t in {"script", "img", "svg", "iframe", "object", "embed", "style", "link"}
    ]
    bad += [k for k, v in found.attrs if k.startswith("on") or re.match(r"\s*(javascript|data):", v, re.I)]
    return bad


def _article(text: str = "Alpha beta. " + EVIL + " Gamma delta.", **kw: str) -> Article:
    return Article(
        id=kw.get("id", "a1"),
        title=kw.get("title", EVIL),
        text=text,
        source=kw.get("source", EVIL),
        url=kw.get("url", ""),
        published=kw.get("published", "2023-04-18"),
    )


def _answer(text: str, quote_start: int, quote_end: int, abstained: bool = False) -> Answer:
    passage = Passage("a1#0", "a1", 0, text, 0, len(text))
    quote = text[quote_start:quote_end]
    cite = Citation(1, "a1", "a1#0", quote_start, quote_end, quote, EVIL, source=EVIL, published="2023-04-18")
    return Answer(
        question=EVIL,
        text=quote,
        sentences=() if abstained else (AnswerSentence(quote, (1,)),),
        citations=() if abstained else (cite,),
        hits=(Hit(passage, 0.5, 1, dense_rank=1, lexical_rank=3),),
        abstained=abstained,
        confidence=0.4,
        reason="the closest sentence matches with confidence 0.10" if abstained else "",
        query=EVIL + " Kars",
    )


# --------------------------------------------------------------------------- render


def test_everything_from_articles_and_users_is_escaped():
    art = _article()
    ans = _answer(art.text, 0, len(art.text))
    turn = render.Turn(1, EVIL, ans)
    pages = [
        render.conversation([turn]),
        render.conversation([render.Turn(2, EVIL, error=EVIL)]),
        render.sources(turn, {"a1": EVIL}),
        render.article_view(art, 0, 5, label=EVIL),
        render_library.article_list([ArticleInfo("a1" + EVIL, EVIL, EVIL, "2023-01-01", EVIL, 3, 99)]),
        render_library.ingest_summary(
            IngestReport(added=("a1",), skipped=(Skipped(EVIL, EVIL),)), {"a1": EVIL}, [(EVIL, EVIL)]
        ),
        render.empty_state([EVIL], 3),
        render_library.message(EVIL, EVIL),
    ]
    for html in pages:
        assert active_content(html) == [], html
        assert "&amp;lt;" not in html and "&amp;#34;" not in html  # escaped once, not twice
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html or "&lt;script&gt;" in html


def test_article_view_marks_exactly_the_cited_characters():
    art = _article(text="First sentence.\n\nThe drills will be held in Kars.\n\nLast one.")
    start = art.text.index("The drills")
    end = art.text.index("Kars.") + 5
    html = render.article_view(art, start, end, label="Citation [1]", quote=art.text[start:end])
    assert '<mark class="cq-hl">The drills will be held in Kars.</mark>' in html
    assert "18 April 2023" in html and "characters 17–49" in html
    assert "changed" not in html


def test_article_view_finds_a_moved_quote_and_says_when_it_is_gone():
    art = _article(text="New first line. The drills will be held in Kars.")
    moved = render.article_view(art, 0, 10, quote="held in Kars")
    assert '<mark class="cq-hl">held in Kars</mark>' in moved and "found again" in moved
    gone = render.article_view(art, 0, 10, quote="held in Ankara")
    assert "<mark" not in gone and "no longer in it" in gone


@pytest.mark.parametrize(
    "url, linked",
    [
        ("https://example.com/a?b=1&c=2", True),
        ("javascript:alert(1)", False),
        ("data:text/html,x", False),
        ("  javascript:alert(1)", False),
        ("", False),
    ],
)
def test_only_http_links_become_anchors(url, linked):
    html = render.article_view(_article(url=url), 0, 1)
    assert ("<a " in html) is linked
    if linked:
        assert (
            'href="https://example.com/a?b=1&amp;c=2"' in html
            and 'rel="noopener noreferrer nofollow"' in html
        )


def test_answer_markers_replace_the_composers_bracket_numbers():
    text = "The drills will be held in Kars."
    html = render.answer_body(7, _answer(text, 0, len(text)))
    assert "[1]" not in html
    assert html.count('data-cite="7:1"') == 2  # after the sentence, and next to the article below it


def test_streaming_reveals_words_and_markers_come_with_their_sentence():
    text = "One two three four five six."
    ans = _answer(text, 0, len(text))
    partial = render.answer_body(1, ans, reveal=3)
    assert "One two three<" in partial and "four" not in partial and "data-cite" not in partial
    assert "cq-caret" in partial
    done = render.answer_body(1, ans, reveal=render.word_count(ans))
    assert "data-cite" in done and "cq-caret" not in done


def test_abstention_says_why_and_the_sources_show_the_closest_passages():
    ans = replace(_answer("Nothing relevant here.", 0, 5, abstained=True), text="The articles don't say who.")
    turn = render.Turn(1, "q", ans)
    chat = render.conversation([turn])
    # The refusal in plain words in the chat; the scores behind it in the Sources panel.
    assert "The articles don&#39;t say who." in chat and "confidence 0.10" not in chat
    side = render.sources(turn)
    assert "Not enough to answer" in side and "confidence 0.10" in side
    assert "#1" in side and "lexical #3" in side


def test_the_short_answer_comes_first_and_is_highlighted_in_its_sentence():
    text = "The drills will be held in Kars <b>soon</b>."
    ans = _answer(text, 0, len(text))
    ans = replace(ans, short=ShortAnswer("Kars", "a1", 27, 31, citation=1))
    body = render.answer_body(1, ans)
    assert body.index("cq-short") < body.index("cq-answer")
    assert '<mark class="cq-span">Kars</mark> &lt;b&gt;soon' in body  # escaped around the mark
    streaming = render.answer_body(1, ans, reveal=2)
    assert "cq-short" in streaming  # the answer shows before the evidence has streamed in


def test_empty_chat_offers_examples_or_says_the_library_is_empty():
    assert 'data-example="Where?"' in render.conversation([], examples=["Where?"], n_articles=2)
    assert "library is empty" in render.conversation([], n_articles=0)


# --------------------------------------------------------------------------- uploads


@pytest.mark.parametrize(
    "given, safe",
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\Windows\\evil.MD", "evil.md"),
        ("C:\\tmp\\Ünïcode Title!.md", "Unicode-Title.md"),
        ("..", "upload"),
        (".hidden.json", "hidden.json"),
        ("<img src=x onerror=alert(1)>.html", "img-src-x-onerror-alert-1.html"),
        ("a" * 300 + ".jsonl", "a" * 96 + ".jsonl"),
    ],
)
def test_safe_name(given, safe):
    assert safe_name(given) == safe


def test_stage_copies_good_files_and_refuses_the_rest(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    good = src / "Good Article.txt"
    good.write_text("hello")
    exe = src / "tool.exe"
    exe.write_text("MZ")
    big = src / "big.md"
    big.write_text("x" * 2000)
    dest = tmp_path / "kb" / "uploads"
    saved, refused = stage([good, exe, big, src / "missing.txt"], dest, UploadLimits(max_file_bytes=1000))
    assert saved == [dest.resolve() / "Good-Article.txt"] and saved[0].read_text() == "hello"
    reasons = dict(refused)
    assert "unsupported file type .exe" in reasons["tool.exe"]
    assert "too large" in reasons["big.md"] and "the limit is 1 kB" in reasons["big.md"]
    assert reasons["missing.txt"] == "could not be read"
    assert sorted(p.name for p in dest.iterdir()) == ["Good-Article.txt"]  # no temporary files left


def test_uploads_take_exactly_the_file_types_ingest_reads(tmp_path):
    from citeqa.ingest import SUPPORTED_SUFFIXES

    src = tmp_path / "in"
    src.mkdir()
    files = [src / f"a{i}{suffix}" for i, suffix in enumerate(sorted(SUPPORTED_SUFFIXES))]
    files.append(src / "notes.odt")
    for f in files:
        f.write_text("x")
    saved, refused = stage(files, tmp_path / "uploads")
    assert sorted(p.suffix for p in saved) == sorted(SUPPORTED_SUFFIXES)
    kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
    assert refused == [("notes.odt", f"unsupported file type .odt; use one of {kinds}")]


def test_stage_refuses_too_many_or_too_much_before_writing_anything(tmp_path):
    files = []
    for i in range(3):
        f = tmp_path / f"a{i}.txt"
        f.write_text("x" * 600)
        files.append(f)
    dest = tmp_path / "uploads"
    with pytest.raises(UploadError, match="3 files were uploaded at once; the limit is 2"):
        stage(files, dest, UploadLimits(max_files=2))
    with pytest.raises(UploadError, match="the limit is 1 kB at once"):
        stage(files, dest, UploadLimits(max_total_bytes=1000))
    assert not dest.exists()


def test_stage_never_writes_outside_its_folder(tmp_path):
    evil = tmp_path / "src"
    evil.mkdir()
    (evil / "x.txt").write_text("x")
    dest = tmp_path / "deep" / "uploads"
    saved, _ = stage([evil / "x.txt"], dest)
    assert all(p.parent == dest.resolve() for p in saved)


# --------------------------------------------------------------------------- handlers (no server)


@pytest.fixture()
def chat_page(seed_qa, tmp_path):
    from citeqa_app.ui import ChatPage

    return ChatPage(seed_qa, uploads=tmp_path / "uploads")


def _run(gen):
    return list(gen)


def test_each_session_has_its_own_conversation(chat_page):
    a, b = SimpleNamespace(session_hash="tab-a"), SimpleNamespace(session_hash="tab-b")
    steps = _run(chat_page.chat("Where will the Heydar Aliyev-2023 drills be held?", 5, None, [], [], a))
    assert len(steps) >= 3  # the question, streamed words, the finished answer
    assert "cq-typing" in steps[0][0] and steps[0][1] == ""
    assert "cq-caret" in steps[1][0]
    final_chat, _, final_sources, *_ = steps[-1]
    assert "cq-final" in final_chat and 'class="cq-cite"' in final_chat and "cq-source" in final_sources
    assert len(chat_page.conversations.get(a).turns) == 1
    assert chat_page.conversations.get(b).turns == []
    follow_a = chat_page.conversations.get(a).session.resolve("Which border checkpoint did they pass?")
    follow_b = chat_page.conversations.get(b).session.resolve("Which border checkpoint did they pass?")
    assert follow_a != follow_b == "Which border checkpoint did they pass?"


def test_a_bad_question_changes_nothing(chat_page):
    tab = SimpleNamespace(session_hash="t")
    with pytest.warns(UserWarning, match="the limit is 2,000"):
        steps = _run(chat_page.chat("x" * 2500, 5, None, [], [], tab))
    assert len(steps) == 1 and all(v == {"__type__": "update"} for v in steps[0])
    assert chat_page.conversations.get(tab).turns == []


def test_citation_keys_from_another_session_open_nothing(chat_page):
    mine, other = SimpleNamespace(session_hash="mine"), SimpleNamespace(session_hash="other")
    _run(chat_page.chat("Where will the Heydar Aliyev-2023 drills be held?", 5, None, [], [], mine))
    evt = PageClick(None, {"cite": "1:1"})
    assert "<mark" in chat_page.open_citation(evt, mine)
    assert "<mark" not in chat_page.open_citation(evt, other)
    assert "<mark" not in chat_page.open_citation(PageClick(None, {"cite": "<x>"}), mine)


def test_a_new_answer_clears_the_article_panel_and_older_citations_say_so(chat_page):
    tab = SimpleNamespace(session_hash="t")
    _run(chat_page.chat("Where will the Heydar Aliyev-2023 drills be held?", 5, None, [], [], tab))
    assert "Citation [1]</span>" in chat_page.open_citation(PageClick(None, {"cite": "1:1"}), tab)
    steps = _run(
        chat_page.chat("Who spoke about the brotherhood between the two countries?", 5, None, [], [], tab)
    )
    assert steps[0][3] == {"__type__": "update"}  # the panel stays while the answer is on its way...
    assert steps[-1][3] == render.article_placeholder()  # ...and is cleared when it arrives
    older = chat_page.open_citation(PageClick(None, {"cite": "1:1"}), tab)
    assert "Citation [1] · an earlier answer" in older and "<mark" in older


def _stored_after(chat_page, tab, question):
    """What the page hands the browser to keep after `question`, as it comes back from JSON."""
    steps = _run(chat_page.chat(question, 5, None, [], [], tab))
    return json.loads(json.dumps(steps[-1][4]))


def test_a_reload_restores_the_conversation_and_its_follow_up_context(chat_page):
    first, reloaded = SimpleNamespace(session_hash="before"), SimpleNamespace(session_hash="after")
    stored = _stored_after(chat_page, first, "Where will the Heydar Aliyev-2023 drills be held?")
    stats, chat, _, sources, export = chat_page.on_load(stored, reloaded)
    assert "Where will the Heydar Aliyev-2023 drills be held?" in chat and "cq-cite" in chat
    assert "cq-source" in sources and export["interactive"] is True
    before, after = chat_page.conversations.get(first), chat_page.conversations.get(reloaded)
    assert after.turns[0].answer.to_dict() == before.turns[0].answer.to_dict()
    # The chat session is rebuilt as it was, so a follow-up is resolved as it would have been.
    assert _chat_state(after.session.history) == _chat_state(before.session.history)
    follow_up = "Which border checkpoint did they pass?"
    assert after.session.resolve(follow_up) == before.session.resolve(follow_up) != follow_up
    # Citation markers of the restored answer open their article.
    assert "<mark" in chat_page.open_citation(PageClick(None, {"cite": "1:1"}), reloaded)


def _chat_state(history):
    """What a chat session remembers of each turn, but the answer itself."""
    return [{f.name: getattr(t, f.name) for f in fields(t) if f.name != "answer"} for t in history]


def test_export_is_the_conversation_as_markdown_with_its_citations(chat_page):
    tab = SimpleNamespace(session_hash="t")
    assert chat_page.on_load(None, tab)[4] == {"__type__": "update", "value": None, "interactive": False}
    _run(chat_page.chat("Where will the Heydar Aliyev-2023 drills be held?", 5, None, [], [], tab))
    steps = _run(chat_page.chat("Which border checkpoint did they pass?", 5, None, [], [], tab))
    export = steps[-1][5]
    path = Path(export["value"])
    assert export["interactive"] is True and path.name == "citeqa-conversation.md"
    md = path.read_text(encoding="utf-8")
    assert md == chat_page.conversations.get(tab).session.to_markdown()
    assert "## 1. Where will the Heydar Aliyev-2023 drills be held?" in md
    assert "## 2. Which border checkpoint did they pass?" in md
    assert "- [1] **Heydar Aliyev 2023 drills** (2023-04-18 11:09 +04:00): “" in md
    # "New conversation" empties the stored copy and disables Export; closing the tab removes the file.
    *_, stored, cleared = chat_page.new_chat(tab)
    assert stored["turns"] == [] and cleared["interactive"] is False
    chat_page.on_unload(tab)
    assert not path.exists()


def test_stored_conversations_round_trip_and_keep_only_the_last_passages(chat_page):
    tab = SimpleNamespace(session_hash="t")
    _run(chat_page.chat("Where will the Heydar Aliyev-2023 drills be held?", 5, None, [], [], tab))
    stored = _stored_after(chat_page, tab, "What is the capital of Peru?")
    restored = storage.load(stored, max_turns=50)
    turns, original = restored.turns, chat_page.conversations.get(tab).turns
    assert _chat_state(restored.history) == _chat_state(chat_page.conversations.get(tab).session.history)
    assert [t.id for t in turns] == [1, 2] and [t.question for t in turns] == [t.question for t in original]
    assert turns[-1].answer.to_dict() == original[-1].answer.to_dict()  # the abstention, passages and all
    assert turns[-1].answer.abstained and turns[-1].answer.reason == original[-1].answer.reason
    assert turns[0].answer.hits == () and original[0].answer.hits  # only the last answer's passages
    assert turns[0].answer.citations == original[0].answer.citations
    assert [t.question for t in storage.load(stored, max_turns=1).turns] == ["What is the capital of Peru?"]


@pytest.mark.parametrize(
    "value",
    [None, "", "turns", [], {"turns": []}, {"version": 99, "turns": []}, {"version": 1, "turns": "x"}],
)
def test_an_unreadable_stored_value_is_an_empty_conversation(value):
    assert storage.load(value, max_turns=50) == storage.Restored()


def test_damaged_stored_turns_are_dropped_and_the_rest_kept():
    answer = _answer("Kars is the place. More.", 0, 18)
    failed = render.Turn(7, "Why?", error="Couldn't answer: x")
    good = storage.dump([failed, render.Turn(8, "Where?", answer)])
    broken = [
        {"question": 3},
        {"question": "No answer and no error"},
        {"question": "Bad answer", "answer": {"answer": "x"}},
        {"question": "Bad citation", "answer": {**good["turns"][1]["answer"], "citations": [{"n": "one"}]}},
        "not a turn",
    ]
    restored = storage.load({"version": 1, "turns": broken + good["turns"]}, max_turns=50)
    turns = restored.turns
    assert [(t.id, t.question, t.error) for t in turns] == [(1, "Why?", failed.error), (2, "Where?", "")]
    assert turns[1].answer.to_dict() == answer.to_dict()
    assert [(t.question, t.answer) for t in restored.history] == [("Where?", turns[1].answer)]


def test_a_damaged_chat_context_falls_back_to_the_defaults():
    from citeqa.chat import Turn as ChatTurn

    answer = _answer("Kars is the place. More.", 0, 18)
    item = storage.dump([render.Turn(1, "Where?", answer)])["turns"][0]
    item["chat"] = {"question": "ignored", "query": ["not", 3], "no_such_field": 1}
    (chat,) = storage.load({"version": 1, "turns": [item]}, max_turns=50).history
    assert chat == ChatTurn("Where?", answer.query, chat.answer)  # the answer is the restored one


def test_the_question_box_stops_at_the_servers_limit(seed_qa):
    from citeqa_app.ui import build_app

    demo = build_app(seed_qa)
    box = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "cq-question")
    assert box.max_length == seed_qa.config.max_question_chars == 2000


@pytest.mark.parametrize(
    "sent, fields",
    [
        ({"cite": "3:1"}, {"cite": "3:1", "example": "", "source": "", "remove": ""}),
        ({"example": "Where?", "source": 7}, {"example": "Where?", "source": "7", "cite": ""}),
        ({"remove": "a1", "cite": None}, {"remove": "a1", "cite": ""}),
        (None, {"example": "", "cite": "", "source": "", "remove": ""}),
        ("not a mapping", {"example": "", "cite": "", "source": "", "remove": ""}),
    ],
)
def test_a_page_click_reads_what_the_script_sent(sent, fields):
    evt = PageClick(None, sent)
    assert {k: getattr(evt, k) for k in fields} == fields


def test_gradio_hands_the_page_handlers_their_click(seed_qa):
    """The handlers' `PageClick` annotation must resolve, or Gradio would pass them no event data."""
    import gradio as gr
    from gradio.helpers import special_args

    from citeqa_app.ui import build_app

    demo = build_app(seed_qa)
    by_name = {fn.api_name: fn for fn in demo.fns.values()}
    for name, key in [
        ("ask_example", "example"),
        ("open_citation", "cite"),
        ("open_source", "source"),
        ("remove_article", "remove"),
    ]:
        fn = by_name[name]
        assert fn.collects_event_data, name
        inputs, *_ = special_args(
            fn.fn, [5] if name == "ask_example" else [], None, gr.EventData(None, {key: "1:2"})
        )
        click = next(x for x in inputs if isinstance(x, PageClick))
        assert getattr(click, key) == "1:2", name


def test_the_scope_line_says_when_the_as_of_box_holds_no_date_and_which_day_is_used():
    from citeqa_app.scope_ui import summary

    assert summary("2024-05-07", [], []) == '<div class="cq-scope-line">Scope: as of 2024-05-07</div>'
    # Gradio's box keeps showing text it refused, and still holds the day it took before.
    line = summary("2024-05-07", ["a1"], [], typed="tomorrow")
    assert "Scope: as of 2024-05-07 · 1 article" in line and 'class="cq-scope-line cq-scope-warn"' in line
    said = "“tomorrow” in As of is not a date (YYYY-MM-DD), so it is not used: "
    assert said + "questions are still asked as of 2024-05-07." in line
    line = summary(None, [], [], typed="7 May")
    assert "Scope:" not in line
    said = "“7 May” in As of is not a date (YYYY-MM-DD), so it is not used: "
    assert said + "questions are asked with no As of day." in line
    assert active_content(summary(None, [], [], typed=EVIL)) == [] and "&lt;script&gt;" in summary(
        None, [], [], EVIL
    )
    # What the box takes and sends itself is not flagged: the day it holds is the one shown.
    for typed in ("2024-05-07", "now", "now - 3d", "", None):
        assert "cq-scope-warn" not in summary("2024-05-07", [], [], typed), typed
    assert summary(None, [], [], typed="") == ""
    # A day that does not exist gets through the box; asking with it is refused, and the line says so.
    line = summary("2024-02-30", [], [], typed="2024-02-30")
    assert "as of" not in line and "questions are refused until it is corrected or cleared" in line


def test_a_day_that_does_not_exist_is_refused_when_asking(chat_page):
    tab = SimpleNamespace(session_hash="t")
    with pytest.warns(
        UserWarning, match=r"As of date must be a date like 2024-03-05 \(or 'today'\), got '2024-02-30'"
    ):
        steps = _run(chat_page.chat("Where will the drills be held?", 5, "2024-02-30", [], [], tab))
    assert len(steps) == 1 and chat_page.conversations.get(tab).turns == []


def test_the_scope_line_reads_what_the_as_of_box_shows(seed_qa):
    """Leaving the box, Enter and every scope change redraw the line with the box's text (the page's
    script reads it); Clear empties the box's text too."""
    from citeqa_app import scope_ui
    from citeqa_app.ui import build_app

    demo = build_app(seed_qa)
    ids = {i: getattr(b, "elem_id", None) for i, b in demo.blocks.items()}
    line = next(fn for fn in demo.fns.values() if fn.fn is scope_ui.summary)
    assert "#cq-as-of input" in line.js and len(line.inputs) == 4
    triggers = {(ids[block], event) for block, event in line.targets}
    assert {("cq-as-of", "change"), ("cq-as-of", "submit"), ("cq-scope-line", "input")} <= triggers
    scope_line = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "cq-scope-line")
    assert "focusout" in scope_line.js_on_load and "trigger('input')" in scope_line.js_on_load


def test_the_article_api_returns_every_field_with_path_called_file(chat_page):
    (row,) = chat_page.api_articles()
    assert list(row) == ["id", "title", "source", "published", "file", "passages", "chars"]
    article = chat_page.api_article(row["id"])
    assert list(article) == ["id", "title", "text", "source", "url", "published", "file"]
    assert article["text"] == chat_page.qa.article(row["id"]).text and row["file"] == article["file"]


def test_upload_handler_ingests_and_reports(chat_page, tmp_path):
    f = tmp_path / "new.txt"
    f.write_text(
        "title: Lake Sevan\n\nThe water level of Lake Sevan rose by 14 centimetres.", encoding="utf-8"
    )
    g = tmp_path / "notes.odt"
    g.write_bytes(b"PK")
    files, summary, library, stats = chat_page.add_files([str(f), str(g)], progress=lambda *a, **k: None)
    assert files is None and "Lake Sevan" in library and "<strong>2</strong> articles" in stats
    assert "added" in summary and "notes.odt" in summary and "unsupported file type .odt" in summary
    answer = chat_page.qa.ask("How much did the water level of Lake Sevan rise?")
    assert any(c.article_id == "new" for c in answer.citations)


def test_an_upload_skipped_whole_leaves_no_copy_behind(chat_page, tmp_path):
    """A fresh user's report: a binary .txt and an empty one stayed in uploads/, so every `make run`
    skipped them again and the page could never remove them."""
    binary, empty, good = tmp_path / "binary.txt", tmp_path / "empty.txt", tmp_path / "ok.txt"
    binary.write_bytes(b"\x00\x01\x02 not text \xff\x00")
    empty.write_text("")
    good.write_text("title: Lake Sevan\n\nThe water level of Lake Sevan rose by 14 centimetres.")
    _, summary, _, _ = chat_page.add_files(
        [str(binary), str(empty), str(good)], progress=lambda *a, **k: None
    )
    assert "binary.txt" in summary and "empty.txt" in summary
    assert sorted(p.name for p in chat_page.uploads.iterdir()) == ["ok.txt"]


# --------------------------------------------------------------------------- citeqa.web


def test_importing_the_web_module_launches_nothing_and_imports_no_gradio():
    code = "import sys, citeqa.web, citeqa.cli; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.0.1.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host, loopback):
    from citeqa.web import is_loopback

    assert is_loopback(host) is loopback


def test_serve_warns_loudly_off_loopback_and_launches_with_the_page_settings(
    seed_kb, tmp_path, monkeypatch, capsys
):
    import shutil

    import gradio as gr

    from citeqa.web import serve

    kb = tmp_path / "kb"
    shutil.copytree(seed_kb, kb)
    launched = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: launched.update(kw))
    assert serve(kb, host="0.0.0.0", port=7999) == 0
    out, err = capsys.readouterr()
    assert "WARNING: listening on 0.0.0.0" in err and "no login" in err.lower()
    assert "http://0.0.0.0:7999" in out
    assert launched["server_name"] == "0.0.0.0" and launched["server_port"] == 7999
    assert launched["css"] and launched["max_file_size"] == 5_000_000
    assert serve(kb) == 0
    assert "WARNING" not in capsys.readouterr().err


def test_serve_refuses_a_missing_knowledge_base(tmp_path):
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    out = subprocess.run(
        [sys.executable, "-m", "citeqa.cli", "serve", "--kb", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 2 and "citeqa: error:" in out.stderr and "Traceback" not in out.stderr


def test_api_errors_carry_the_message_and_leave_no_traceback_in_the_log():
    from citeqa.errors import InputError
    from citeqa_app.api import api_error

    err = api_error(InputError("the question is empty"))
    assert err.message == "The question is empty." and err.print_exception is False


def test_only_the_upload_itself_is_taken_for_an_articles_upload_copy(tmp_path):
    from citeqa_app.handlers import ChatPage

    uploads = tmp_path / "kb" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "report.txt").write_text("x")
    page = SimpleNamespace(uploads=uploads)

    def copy(path):
        return ChatPage._upload_copy(page, SimpleNamespace(path=path))

    assert copy("report.txt") == uploads / "report.txt"  # saved by the page: the bare name
    assert copy(str(uploads / "report.txt")) == uploads / "report.txt"  # re-ingested by `make run`
    assert copy("data/2023/report.txt") is None  # another article with the same file name
    assert copy("other.txt") is None and copy("") is None


def test_other_copies_of_a_story_are_named_in_sources_and_survive_a_reload():
    from citeqa.schema import Answer, AnswerSentence, Citation, Hit, Passage, StoryCopy
    from citeqa_app.render import Turn

    copy = StoryCopy("wire-2", "Floods <b>hit</b> valley", "Daily Wire", "2024-03-02")
    passage = Passage("a1:0", "a1", 0, "The river rose.", 0, 15)
    answer = Answer(
        question="What rose?",
        text="The river rose.",
        sentences=(AnswerSentence("The river rose.", (1,)),),
        citations=(Citation(1, "a1", "a1:0", 0, 15, "The river rose.", "Floods", also_in=(copy,)),),
        hits=(Hit(passage, 0.9, 1, also_in=(copy,)),),
        abstained=False,
        confidence=0.9,
    )
    turn = Turn(1, "What rose?")
    turn.answer = answer
    html = render.sources(turn, {"a1": "Floods"})
    assert "also in: Floods &lt;b&gt;hit&lt;/b&gt; valley (Daily Wire" in html  # escaped, with its byline
    back = storage.load(storage.dump([turn]), max_turns=5).turns[0].answer
    assert back.hits[0].also_in == (copy,) and back.citations[0].also_in == (copy,)
