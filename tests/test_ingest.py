"""Tests for citeqa.ingest: every format, every way a file can be bad, ids and paths."""

from __future__ import annotations

import codecs
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citeqa import ingest
from citeqa.encoding import EncodingNote
from citeqa.errors import InputError
from citeqa.ingest import SUPPORTED_SUFFIXES, article_from_record, content_hash, read_paths
from citeqa.schema import Article, Skipped

SEED = Path(__file__).resolve().parents[1] / "data" / "articles" / "heydar-aliyev-2023-drills.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ingest"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def read_one(path: Path) -> Article:
    articles, skipped = read_paths([path])
    assert skipped == []
    assert len(articles) == 1
    return articles[0]


def reasons(skipped: list[Skipped]) -> dict[str, str]:
    return {s.path: s.reason for s in skipped}


# --- the demo seed article ----------------------------------------------------------------------


def test_seed_article() -> None:
    article = read_one(SEED)
    assert article.id == "heydar-aliyev-2023-drills"
    assert article.title == "Heydar Aliyev 2023 drills"
    assert article.published == "2023-04-18T11:09:00+04:00"
    assert article.text.startswith("A group of Azerbaijan")
    assert "11:09" not in article.text and "date" not in article.text[:50]
    assert article.text == article.text.strip()  # no stray whitespace around the body
    assert article.source == "" and article.url == ""
    assert article.path == "heydar-aliyev-2023-drills.txt"  # given absolute: the file name only
    # Everything after the metadata line and its blank line is kept exactly.
    raw = SEED.read_text(encoding="utf-8")
    assert article.text == raw.split("\n", 2)[2].strip()


def test_seed_folder_relative_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SEED.parents[2])
    articles, skipped = read_paths(["data/articles"])
    assert skipped == []
    assert [(a.id, a.path) for a in articles] == [
        ("heydar-aliyev-2023-drills", "data/articles/heydar-aliyev-2023-drills.txt")
    ]


# --- .txt ---------------------------------------------------------------------------------------


def test_txt_metadata_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.txt",
        "Title: Talks in Baku\nSource: Azernews\nURL: https://example.com/talks\n"
        "Published: April 18, 2023\nAuthor: Someone\n\n\nBody line one.\n\nBody line two.\n",
    )
    article = read_one(path)
    assert (article.title, article.source, article.url, article.published) == (
        "Talks in Baku",
        "Azernews",
        "https://example.com/talks",
        "2023-04-18",
    )
    assert article.text == "Body line one.\n\nBody line two."


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("date 2023-04-18 18 April 2023 11:09 (UTC+04:00)", "2023-04-18T11:09:00+04:00"),
        ("date: 18 April 2023", "2023-04-18"),
        ("Date: Tuesday, 18th Apr. 2023", "2023-04-18"),
        ("  published 2023/4/8", "2023-04-08"),
        ("DATE: Sept. 3, 2021", "2021-09-03"),
        ("date: unknown", ""),  # clearly a metadata line, but no date in it
    ],
)
@pytest.mark.filterwarnings(
    "ignore::citeqa.dates.DateNote"
)  # "unknown": tests/test_sources.py checks the note
def test_txt_dates(tmp_path: Path, line: str, iso: str) -> None:
    article = read_one(write(tmp_path / "a.txt", f"{line}\n\nBody."))
    assert (article.published, article.text) == (iso, "Body.")


def test_txt_first_line_that_only_looks_like_metadata_stays(tmp_path: Path) -> None:
    text = "Date palms grow well here.\nSource close to the talks said so.\n"
    article = read_one(write(tmp_path / "a.txt", text))
    assert article.text == text.strip()
    assert article.published == ""


def test_txt_crlf_and_bom(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", b"\xef\xbb\xbfdate 2023-04-18\r\n\r\nOne.\r\n\r\nTwo  spaces\tkept.\r\n")
    article = read_one(path)
    assert article.text == "One.\n\nTwo  spaces\tkept."
    assert article.published == "2023-04-18"


def test_title_from_name_uses_article_casing(tmp_path: Path) -> None:
    body = "NATO met in Kars. The nato summit was short. Kars is cold."
    assert read_one(write(tmp_path / "nato_summit-in-kars.txt", body)).title == "NATO summit in Kars"


# --- .md ----------------------------------------------------------------------------------------


def test_md_front_matter(tmp_path: Path) -> None:
    path = write(
        tmp_path / "news.md",
        "---\ntitle: Front title\ndate: 2023-04-18\nsource: Azernews\nurl: https://e.com/x\nid: my-id\n---\n"
        "# Heading stays\n\nBody *markdown* kept.\n",
    )
    article = read_one(path)
    assert (article.id, article.title, article.published, article.source, article.url) == (
        "my-id",
        "Front title",
        "2023-04-18",
        "Azernews",
        "https://e.com/x",
    )
    assert article.text == "# Heading stays\n\nBody *markdown* kept."


def test_md_heading_becomes_title(tmp_path: Path) -> None:
    article = read_one(write(tmp_path / "sub" / "x.markdown", "\n# The Heading #\n\n\nFirst para.\n"))
    assert (article.title, article.text, article.id) == ("The Heading", "First para.", "x")


@pytest.mark.parametrize(
    "text",
    ["---\ntitle: [unclosed\n---\nBody.", "---\ntitle: x\nBody without end.", "---\n- a\n- b\n---\nBody."],
)
def test_md_malformed_front_matter(tmp_path: Path, text: str) -> None:
    write(tmp_path / "bad.md", text)
    write(tmp_path / "good.md", "Fine.")
    articles, skipped = read_paths([tmp_path])
    assert [a.id for a in articles] == ["good"]
    assert len(skipped) == 1 and skipped[0].path == "bad.md"
    assert skipped[0].reason.startswith("malformed front matter")


# --- .html --------------------------------------------------------------------------------------


def test_html_article(tmp_path: Path) -> None:
    article = read_one(FIXTURES / "drills.html")
    assert article.title == "Joint drills begin in Kars"
    # trafilatura finds the day; the page's article:published_time gives that day's time and offset.
    assert article.published == "2023-04-18T11:09:00+04:00"
    assert article.url == "https://www.azernews.az/nation/208345.html"
    assert article.text.startswith("A group of Azerbaijan")
    assert "\n\nThe ceremony was held" in article.text  # paragraphs separated by blank lines
    assert "Joint drills begin in Kars" not in article.text  # the <h1> is the title, not the body
    for leaked in ("SECRET", "alert", "NAVIGATION_MENU", "FOOTER_TEXT", "color: red", "<", "onerror"):
        assert leaked not in article.text and leaked not in article.title


TINY_PAGE = (
    "<html><head><title>Tiny</title><script>var SECRET=1</script><style>p{}</style></head><body>"
    "<nav>MENU</nav><header>BANNER</header><div>Short <b>note</b>.</div><!-- HIDDEN -->"
    "<p>Two &lt;script&gt;\n   spaced</p><ul><li>Item one.</li><li>Item two.</li></ul>"
    "<footer>Copyright 2019</footer><img src=x onerror='alert(1)'></body></html>"
)


def test_html_tiny_page(tmp_path: Path) -> None:
    article = read_one(write(tmp_path / "tiny.htm", TINY_PAGE))
    assert article.title == "Tiny"
    # trafilatura's precision mode keeps only the <p> here (the fallback test below keeps it all);
    # an escaped "<script>" was text in the page, so it stays text.
    assert "Two <script> spaced" in article.text
    for leaked in ("SECRET", "MENU", "HIDDEN", "p{}", "alert"):
        assert leaked not in article.text
    assert article.published == ""  # never guessed from "Copyright 2019"


def test_html_fallback_when_trafilatura_finds_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import trafilatura

    monkeypatch.setattr(trafilatura, "bare_extraction", lambda *args, **kwargs: None)
    article = read_one(write(tmp_path / "tiny.htm", TINY_PAGE))
    assert article.title == "Tiny"
    assert article.text == "Short note.\n\nTwo <script> spaced\n\nItem one.\n\nItem two."
    # A character reference to a control character once crashed lxml; now it is dropped.
    assert read_one(write(tmp_path / "ctl.html", "<div>a&#5;b</div><p>c\x01d</p>")).text == "ab\n\ncd"


def test_html_without_text_is_empty(tmp_path: Path) -> None:
    write(tmp_path / "e.html", "<html><head><script>alert(1)</script></head><body> </body></html>")
    assert read_paths([tmp_path / "e.html"]) == ([], [Skipped("e.html", "empty body")])


@pytest.mark.filterwarnings("ignore::citeqa.encoding.EncodingNote")
def test_html_latin1_declared(tmp_path: Path) -> None:
    page = (
        '<html><head><meta charset="iso-8859-1"><title>Caf\xe9</title></head>'
        "<body><p>Un caf\xe9 noir, s'il vous pla\xeet.</p></body></html>"
    )
    article = read_one(write(tmp_path / "cafe.html", page.encode("latin-1")))
    assert "café" in article.text


# --- .json / .jsonl -----------------------------------------------------------------------------


def test_json_list_object_and_articles(tmp_path: Path) -> None:
    write(tmp_path / "one.json", json.dumps({"text": "Single.", "title": "One", "date": "2023-04-18"}))
    write(tmp_path / "list.json", json.dumps([{"text": "First."}, {"body": "Second.", "id": "explicit"}]))
    write(tmp_path / "wrapped.json", json.dumps({"articles": [{"content": "Wrapped. More words."}]}))
    articles, skipped = read_paths([tmp_path])
    assert skipped == []
    got = {a.id: (a.title, a.text, a.published, a.path) for a in articles}
    assert got == {
        "list#0": ("First.", "First.", "", "list.json"),
        "explicit": ("Second.", "Second.", "", "list.json"),
        "one": ("One", "Single.", "2023-04-18", "one.json"),
        "wrapped#0": ("Wrapped.", "Wrapped. More words.", "", "wrapped.json"),
    }


def test_json_bad_records(tmp_path: Path) -> None:
    records = [{"text": "Good."}, {"text": "  "}, "just a string", {"text": "x", "title": 5}, {"title": "t"}]
    write(tmp_path / "recs.json", json.dumps(records))
    write(tmp_path / "broken.json", '{"text": ')
    articles, skipped = read_paths([tmp_path])
    assert [a.id for a in articles] == ["recs#0"]
    got = reasons(skipped)
    assert got["broken.json"].startswith("malformed JSON")
    assert set(got) == {"broken.json", "recs.json[1]", "recs.json[2]", "recs.json[3]", "recs.json[4]"}
    assert "'title' must be a string" in got["recs.json[3]"]


def test_jsonl_malformed_line_skips_only_itself(tmp_path: Path) -> None:
    lines = ['{"text": "One.", "url": "https://e.com/1"}', '{"text": oops}', "", '{"text": "Line four."}']
    write(tmp_path / "file.jsonl", "\n".join(lines) + "\n")
    articles, skipped = read_paths([tmp_path / "file.jsonl"])
    assert [(a.id, a.url) for a in articles] == [("file#1", "https://e.com/1"), ("file#4", "")]
    assert [s.path for s in skipped] == ["file.jsonl:2"]
    assert skipped[0].reason.startswith("malformed JSON")


def test_article_from_record() -> None:
    a = article_from_record({"text": " Hi there. More.", "url": "https://www.E.com/News/A?x=1"}, where="api")
    assert (a.id, a.title, a.text, a.path) == ("www.e.com/news/a-x-1", "Hi there.", "Hi there. More.", "")
    b = article_from_record({"text": "Same text."}, where="api")
    assert b.id == article_from_record({"text": "Same text."}, where="other").id and len(b.id) == 16
    assert article_from_record({"text": "x", "id": 7}, where="api").id == "7"
    long = "word " * 40
    assert article_from_record({"text": long}, where="api").title.endswith("word…")
    with pytest.raises(InputError, match=r"^row 3: needs a non-empty 'text'"):
        article_from_record({"title": "no text"}, where="row 3")
    with pytest.raises(InputError, match=r"^row 4: .*lone surrogate"):
        article_from_record(json.loads('{"text": "bad \\ud800"}'), where="row 4")


# --- encodings ----------------------------------------------------------------------------------

NOT_TEXT = "not text (a binary file, or an encoding that could not be recognised: re-save it as UTF-8)"
CAFE = "café – “quoted”"  # é, an en dash and curly quotes: bytes 0x80-0x9f in Windows-1252


def read_noting(paths: list[Path]) -> tuple[list[Article], list[Skipped], dict[str, str]]:
    """read_paths, plus the encoding noted for each file that was not UTF-8."""
    with pytest.warns() as caught:
        articles, skipped = read_paths(paths)
    notes = {w.message.path: w.message.encoding for w in caught if isinstance(w.message, EncodingNote)}
    return articles, skipped, notes


def test_cp1252_latin1_and_utf16_files_are_read_and_noted(tmp_path: Path) -> None:
    write(tmp_path / "cp1252.txt", f"title: {CAFE}\r\n\r\nLe {CAFE} ouvre à Kars.\r\n".encode("cp1252"))
    write(tmp_path / "latin1.md", "# Niño\n\nEl niño comió jamón en Logroño.\n".encode("latin-1"))
    write(tmp_path / "short.txt", "Müller".encode("latin-1"))  # too short for any language statistics
    write(tmp_path / "le.txt", f"Ein {CAFE} in Köln.\n".encode("utf-16"))  # "utf-16" writes a BOM
    write(tmp_path / "be.md", codecs.BOM_UTF16_BE + f"# Wide\n\n{CAFE}, big-endian.".encode("utf-16-be"))
    page = f"<html><head><title>Wide</title></head><body><p>{CAFE}: a page in UTF-16.</p></body></html>"
    write(tmp_path / "page.html", page.encode("utf-16"))
    write(tmp_path / "plain.txt", f"{CAFE} in UTF-8, the fast path.")
    write(tmp_path / "binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    articles, skipped, notes = read_noting([tmp_path])
    assert {a.id: a.text for a in articles} == {  # the decoded text is what is stored
        "be": f"{CAFE}, big-endian.",
        "cp1252": f"Le {CAFE} ouvre à Kars.",
        "latin1": "El niño comió jamón en Logroño.",
        "le": f"Ein {CAFE} in Köln.",  # the byte-order mark is not part of the text
        "page": f"{CAFE}: a page in UTF-16.",
        "plain": f"{CAFE} in UTF-8, the fast path.",
        "short": "Müller",
    }
    titles = {a.id: a.title for a in articles}
    assert titles["cp1252"] == CAFE and titles["latin1"] == "Niño"  # metadata is decoded too
    assert skipped == [Skipped("binary.txt", NOT_TEXT)]  # binary is still binary, with the reason
    assert notes == {  # every file that was not UTF-8 and what it was read as; plain.txt is not here
        "be.md": "utf-16",
        "cp1252.txt": "cp1252",
        "latin1.md": "cp1252",  # Latin-1 is read as its superset Windows-1252, as browsers do
        "le.txt": "utf-16",
        "page.html": "utf-16",
        "short.txt": "cp1252",
    }


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (
            "Türkiye'nin başkenti Ankara'dır. Dışişleri Bakanlığı açıklama yaptı; görüşmeler sürüyor.",
            "cp1254",
        ),
        ("Zażółć gęślą jaźń. Wczoraj w Krakowie odbyło się spotkanie, na którym omówiono plany.", "cp1250"),
        ("Привет, как дела? Это статья в кодировке Windows-1251, довольно длинный текст.", "cp1251"),
        # A French paragraph, long enough that charset-normalizer alone ranks cp775 ("cafķ") first.
        (f"Le {CAFE} a rouvert lundi. Les visiteurs ont goûté la crème brûlée. " * 50, "cp1252"),
    ],
    ids=["turkish", "polish", "russian", "french"],
)
def test_other_code_pages_keep_their_own(tmp_path: Path, text: str, encoding: str) -> None:
    articles, skipped, notes = read_noting([write(tmp_path / "a.txt", text.encode(encoding))])
    assert [a.text for a in articles] == [text.strip()] and not skipped
    assert notes == {"a.txt": encoding}


def test_html_declared_charset_beats_the_guess(tmp_path: Path) -> None:
    # Labelled Latin-1 but holding Windows-1252 quotes: read as Windows-1252, as browsers do.
    page = f'<html><head><meta charset="iso-8859-1"><title>T</title></head><body><p>{CAFE} ici.</p>'
    articles, _, notes = read_noting([write(tmp_path / "w.html", page.encode("cp1252"))])
    assert articles[0].text == f"{CAFE} ici." and notes == {"w.html": "cp1252"}
    # A declaration that the bytes contradict is ignored: they are still read.
    page = f'<html><head><meta charset="utf-8"><title>T</title></head><body><p>{CAFE} ici.</p>'
    articles, _, notes = read_noting([write(tmp_path / "x.html", page.encode("cp1252"))])
    assert articles[0].text == f"{CAFE} ici." and notes == {"x.html": "cp1252"}


def test_utf8_files_are_not_noted(tmp_path: Path) -> None:
    import warnings

    write(tmp_path / "a.txt", f"{CAFE} in UTF-8.")
    write(tmp_path / "b.md", b"\xef\xbb\xbf# Title\n\nWith a UTF-8 byte-order mark.")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any note would raise here
        articles, skipped = read_paths([tmp_path])
    assert len(articles) == 2 and not skipped


# --- bad files ----------------------------------------------------------------------------------


def test_bad_files_are_skipped_and_good_ones_kept(tmp_path: Path) -> None:
    write(tmp_path / "binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write(tmp_path / "nul.md", b"valid utf-8 \x00 but binary")
    write(tmp_path / "empty.txt", b"")
    write(tmp_path / "blank.md", "  \n\n\t\n")
    write(tmp_path / "meta-only.txt", "date: 2023-04-18\n\n")
    write(tmp_path / "good.txt", "Good text.")
    write(tmp_path / "notes.odt", b"PK\x03\x04")  # ignored inside the folder, skipped when named
    articles, skipped = read_paths([tmp_path, tmp_path / "missing.txt", tmp_path / "notes.odt"])
    assert [a.id for a in articles] == ["good"]
    assert reasons(skipped) == {
        "binary.txt": NOT_TEXT,
        "blank.md": "empty body",
        "empty.txt": "empty body",
        "meta-only.txt": "empty body",
        "nul.md": NOT_TEXT,
        str(tmp_path / "missing.txt"): "no such file or folder",
        "notes.odt": "unsupported file type '.odt'; use one of "
        ".atom .docx .htm .html .json .jsonl .markdown .md .pdf .rss .txt .xml",
    }


def test_too_large(tmp_path: Path) -> None:
    write(tmp_path / "big.txt", "x" * 101)
    write(tmp_path / "ok.txt", "y" * 100)
    articles, skipped = read_paths([tmp_path], max_bytes=100)
    assert [a.id for a in articles] == ["ok"]
    assert skipped == [Skipped("big.txt", "too large (101 bytes; the limit is 100)")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")  # reading it would block forever
    assert read_paths([tmp_path]) == ([], [Skipped("pipe.txt", "not a regular file")])


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "good.txt", "Fine.")
    write(tmp_path / "secret.txt", "hidden")

    def deny(path: Path, mode: str = "r") -> object:  # root ignores chmod 000, so fake the refusal
        if path.name == "secret.txt":
            raise PermissionError(13, "Permission denied")
        return open(path, mode)

    monkeypatch.setattr(ingest, "open", deny, raising=False)
    articles, skipped = read_paths([tmp_path])
    assert [a.id for a in articles] == ["good"]
    assert skipped == [Skipped("secret.txt", "unreadable: Permission denied")]


def test_broken_symlink(tmp_path: Path) -> None:
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "loop.md").symlink_to(tmp_path / "loop.md")
    _, skipped = read_paths([tmp_path])
    assert [s.path for s in skipped] == ["gone.txt", "loop.md"]
    assert all(s.reason.startswith("unreadable: ") for s in skipped)


def test_duplicate_ids(tmp_path: Path) -> None:
    write(tmp_path / "a" / "story.txt", "First.")
    write(tmp_path / "b.jsonl", '{"id": "a/story", "text": "Second."}\n')
    write(tmp_path / "c.md", "---\nid: a/story\n---\nThird.")
    articles, skipped = read_paths([tmp_path / "a", tmp_path])
    # Folder "a" names the file "story"; walking the parent names it "a/story", which the records reuse.
    assert [(a.id, a.path) for a in articles] == [("story", "story.txt"), ("a/story", "a/story.txt")]
    assert skipped == [
        Skipped("b.jsonl:1", "duplicate id a/story (first seen in a/story.txt)"),
        Skipped("c.md", "duplicate id a/story (first seen in a/story.txt)"),
    ]
    articles, skipped = read_paths([tmp_path / "b.jsonl", tmp_path / "c.md"])
    assert [a.text for a in articles] == ["Second."]
    assert skipped == [Skipped("c.md", "duplicate id a/story (first seen in b.jsonl:1)")]


# --- folders, ids and paths ---------------------------------------------------------------------


def make_tree(root: Path) -> None:
    write(root / "b.txt", "B.")
    write(root / "a.md", "A.")
    write(root / "sub" / "x.md", "X.")
    write(root / "sub" / "deeper" / "Ünïcode Name!.txt", "U.")
    write(root / "sub" / "ignored.odt", b"PK")
    write(root / ".hidden.txt", "H.")
    write(root / ".git" / "inside.txt", "G.")
    write(root / "zz.jsonl", '{"text": "Z."}\n')


def test_folder_recursion_order_and_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    articles, skipped = read_paths(["data"])
    assert skipped == []
    assert [(a.id, a.path) for a in articles] == [
        ("a", "data/a.md"),
        ("b", "data/b.txt"),
        ("sub/deeper/unicode-name", "data/sub/deeper/Ünïcode Name!.txt"),
        ("sub/x", "data/sub/x.md"),
        ("zz#1", "data/zz.jsonl"),
    ]
    assert read_paths(["data"]) == (articles, skipped)  # stable across calls
    assert read_paths(["./data/"]) == (articles, skipped)
    assert read_paths("data") == (articles, skipped)  # a lone path, not a list of one
    assert read_paths([Path("data")]) == (articles, skipped)


def test_paths_never_absolute(tmp_path: Path) -> None:
    make_tree(tmp_path / "data")
    articles, _ = read_paths([tmp_path / "data", str(tmp_path / "data" / "sub" / "x.md")])
    assert [a.path for a in articles][:2] == ["a.md", "b.txt"]
    assert all(not os.path.isabs(a.path) and str(tmp_path) not in a.path for a in articles)
    # The same file given directly has another id ("x"), so it is not a duplicate of "sub/x".
    assert articles[-1].id == "x" and articles[-1].path == "x.md"


def test_unsupported_suffix_inside_folder_is_silent(tmp_path: Path) -> None:
    write(tmp_path / "tool.exe", b"MZ")
    assert read_paths([tmp_path]) == ([], [])
    assert sorted(SUPPORTED_SUFFIXES) == [
        *[".atom", ".docx", ".htm", ".html", ".json", ".jsonl", ".markdown", ".md", ".pdf", ".rss"],
        *[".txt", ".xml"],
    ]


def test_content_hash() -> None:
    a = Article(id="a", title="T", text="Body.", published="2023-04-18", path="x.txt")
    assert content_hash(a) == content_hash(Article(id="b", title="T", text="Body.", published="2023-04-18"))
    assert len(content_hash(a)) == 64
    for change in ({"title": "T2"}, {"text": "Body!"}, {"source": "S"}, {"url": "u"}, {"published": ""}):
        assert content_hash(replace(a, **change)) != content_hash(a)
    # Field boundaries count: moving a character from title to text changes the hash.
    one, other = Article(id="a", title="ab", text="c"), Article(id="a", title="a", text="bc")
    assert content_hash(one) != content_hash(other)


# --- never raises -------------------------------------------------------------------------------


TRICKY = [b"---\n", b"<html><script>", b"<p>&#5;", b'{"articles": 3}', b"[1, 2]", b"\xef\xbb\xbf"]


@pytest.mark.filterwarnings("ignore::citeqa.encoding.EncodingNote")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.sampled_from(TRICKY),
    ),
    suffix=st.sampled_from(sorted(SUPPORTED_SUFFIXES)),
)
def test_arbitrary_bytes_never_raise(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"f{suffix}"
    path.write_bytes(data)
    articles, skipped = read_paths([path])
    for article in articles:
        assert article.text and article.text == article.text.strip()
        assert article.path == path.name
        article.text.encode("utf-8")  # storable
    assert all(s.path.startswith(path.name) and s.reason for s in skipped)
