"""The chat page without a browser: HTML escaping, upload safety, per-tab sessions, `citeqa serve`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from citeqa.schema import Answer, AnswerSentence, Article, Citation, Hit, IngestReport, Passage, Skipped
from citeqa.store import ArticleInfo
from citeqa_app import render, render_library
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
        text=f"{quote} [1]",
        sentences=() if abstained else (AnswerSentence(f"{quote} [1]", (1,)),),
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
        assert "&amp;lt;" not in html and "&amp;quot;" not in html  # escaped once, not twice
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html or "&lt;script&gt;" in html


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
    ans = _answer("Nothing relevant here.", 0, 5, abstained=True)
    turn = render.Turn(1, "q", ans)
    chat = render.conversation([turn])
    assert "The articles don’t say" in chat and "confidence 0.10" in chat
    side = render.sources(turn)
    assert "Not enough to answer" in side and "#1" in side and "lexical #3" in side


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
    steps = _run(chat_page.chat("Where will the Heydar Aliyev-2023 drills be held?", 5, a))
    assert len(steps) >= 3  # the question, streamed words, the finished answer
    assert "cq-typing" in steps[0][0] and steps[0][1] == ""
    assert "cq-caret" in steps[1][0]
    final_chat, _, final_sources = steps[-1]
    assert "cq-final" in final_chat and 'class="cq-cite"' in final_chat and "cq-source" in final_sources
    assert len(chat_page.conversations.get(a).turns) == 1
    assert chat_page.conversations.get(b).turns == []
    follow_a = chat_page.conversations.get(a).session.resolve("Which border checkpoint did they pass?")
    follow_b = chat_page.conversations.get(b).session.resolve("Which border checkpoint did they pass?")
    assert follow_a != follow_b == "Which border checkpoint did they pass?"


def test_a_bad_question_changes_nothing(chat_page):
    tab = SimpleNamespace(session_hash="t")
    with pytest.warns(UserWarning, match="the limit is 2,000"):
        steps = _run(chat_page.chat("x" * 2500, 5, tab))
    assert len(steps) == 1 and all(v == {"__type__": "update"} for v in steps[0])
    assert chat_page.conversations.get(tab).turns == []


def test_citation_keys_from_another_session_open_nothing(chat_page):
    mine, other = SimpleNamespace(session_hash="mine"), SimpleNamespace(session_hash="other")
    _run(chat_page.chat("Where will the Heydar Aliyev-2023 drills be held?", 5, mine))
    evt = SimpleNamespace(_data={"cite": "1:1"})
    assert "<mark" in chat_page.open_citation(evt, mine)
    assert "<mark" not in chat_page.open_citation(evt, other)
    assert "<mark" not in chat_page.open_citation(SimpleNamespace(_data={"cite": "<x>"}), mine)


def test_upload_handler_ingests_and_reports(chat_page, tmp_path):
    f = tmp_path / "new.txt"
    f.write_text(
        "title: Lake Sevan\n\nThe water level of Lake Sevan rose by 14 centimetres.", encoding="utf-8"
    )
    g = tmp_path / "notes.pdf"
    g.write_bytes(b"%PDF")
    files, summary, library, stats = chat_page.add_files([str(f), str(g)], progress=lambda *a, **k: None)
    assert files is None and "Lake Sevan" in library and "<strong>2</strong> articles" in stats
    assert "added" in summary and "notes.pdf" in summary and "unsupported file type .pdf" in summary
    answer = chat_page.qa.ask("How much did the water level of Lake Sevan rise?")
    assert any(c.article_id == "new" for c in answer.citations)


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
    from citeqa_app.handlers import _api_error

    err = _api_error(InputError("the question is empty"))
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
