"""Feeds, PDF and DOCX files (citeqa.sources), and the date every kind of source gives."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import pytest

from citeqa.dates import DateNote
from citeqa.ingest import read_paths
from citeqa.schema import Article, Skipped
from tests import docmaker


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def read_noting(*paths: Path) -> tuple[list[Article], list[Skipped], list[str]]:
    """read_paths, plus the date notes it gave (as "path: value")."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DateNote)
        articles, skipped = read_paths(list(paths))
    notes = [f"{w.message.path}: {w.message.value}" for w in caught if isinstance(w.message, DateNote)]
    return articles, skipped, notes


# --- feeds --------------------------------------------------------------------------------------


def test_rss_entries_become_articles(tmp_path: Path) -> None:
    articles, skipped, notes = read_noting(write(tmp_path / "wire.xml", docmaker.rss()))
    ferry, port = articles
    # Full content when the feed carries it (scripts dropped, entities decoded), else the summary.
    assert (
        ferry.text
        == "The ferry from Baku to Aktau resumed on Tuesday.\n\nIt carries 200 passengers & 40 trucks."
    )
    assert port.text == "Cargo volumes at Alat port rose by 12% in February."
    assert (ferry.id, ferry.url, ferry.title) == (
        "news.example/2024/ferry-aktau",  # the link's id: `citeqa ingest LINK` gives the page the same one
        "https://news.example/2024/ferry-aktau",
        "Ferry to Aktau resumes",
    )
    assert port.url == "https://news.example/2024/port-stats"  # a relative link, against the feed's site
    assert ferry.source == port.source == "Caspian Wire"
    assert ferry.path == port.path == "wire.xml"
    assert (ferry.published, port.published) == ("2024-03-05T14:30:00+01:00", "2024-03-06T09:00:00+00:00")
    assert skipped == [Skipped("wire.xml entry 3", "no text (the entry has neither content nor a summary)")]
    assert notes == []


def test_atom_feed_with_html_title_and_xhtml_content(tmp_path: Path) -> None:
    articles, skipped, _ = read_noting(write(tmp_path / "desk.atom", docmaker.ATOM))
    [bridge] = articles
    assert skipped == []
    assert bridge.title == "Bridge opens"
    assert bridge.text == "The Araz bridge opened.\n\nTraffic flows both ways."
    # No link: the guid names it, under the feed's own id (a guid is unique in its feed only); a
    # "tag:" id is no address to show.
    assert (bridge.id, bridge.url) == ("desk#tag-atom.example-2024-bridge", "")
    assert (bridge.source, bridge.published) == ("Atom Desk", "2024-03-05T08:15:00-05:00")


def test_rss_1_0_rdf_feed(tmp_path: Path) -> None:
    rdf = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
 <channel rdf:about="https://rdf.example/"><title>RDF News</title><link>https://rdf.example/</link></channel>
 <item rdf:about="https://rdf.example/a"><title>Grain exports</title><link>https://rdf.example/a</link>
  <description>Grain exports doubled.</description><dc:date>2024-02-01T10:00:00+04:00</dc:date></item>
</rdf:RDF>"""
    [article] = read_paths([write(tmp_path / "rdf.rss", rdf)])[0]
    assert (article.id, article.text, article.source) == (
        "rdf.example/a",
        "Grain exports doubled.",
        "RDF News",
    )
    assert article.published == "2024-02-01T10:00:00+04:00"


def test_feed_ids_are_stable_so_reingesting_changes_nothing(tmp_path: Path) -> None:
    feed = write(tmp_path / "wire.rss", docmaker.rss())
    first, _ = read_paths([feed])
    again, _ = read_paths([feed])
    assert first == again


def test_xml_that_is_not_a_feed_is_skipped_with_a_reason(tmp_path: Path) -> None:
    write(tmp_path / "sitemap.xml", '<?xml version="1.0"?><urlset><url><loc>https://x</loc></url></urlset>')
    write(tmp_path / "notes.rss", "just some words")
    write(tmp_path / "empty.atom", '<feed xmlns="http://www.w3.org/2005/Atom"><title>Nothing</title></feed>')
    articles, skipped = read_paths([tmp_path])
    assert articles == []
    assert {s.path: s.reason for s in skipped} == {
        "empty.atom": "the feed has no entries",
        "notes.rss": "not an RSS or Atom feed (it is not XML)",
        "sitemap.xml": "not an RSS or Atom feed (its root element is <urlset>)",
    }


def test_feed_entry_with_an_unreadable_date_is_kept_and_noted(tmp_path: Path) -> None:
    articles, _, notes = read_noting(write(tmp_path / "wire.xml", docmaker.rss("someday soon")))
    assert [a.published for a in articles] == ["2024-03-05T14:30:00+01:00", ""]
    assert notes == ["wire.xml entry 2: someday soon"]


# --- PDF ----------------------------------------------------------------------------------------


def test_pdf_text_pages_and_metadata(tmp_path: Path) -> None:
    raw = docmaker.pdf(
        [["Harbour bridge reopens.", "The bridge (built 1961) reopened on Monday."], [], ["Second page."]],
        info={"/Title": "Harbour bridge", "/CreationDate": "D:20240305143000+01'00'"},
    )
    [article] = read_paths([write(tmp_path / "bridge.pdf", raw)])[0]
    # Pages joined by a blank line (the empty page adds nothing); a page's own line breaks kept.
    assert (
        article.text == "Harbour bridge reopens.\nThe bridge (built 1961) reopened on Monday.\n\nSecond page."
    )
    assert (article.id, article.title, article.published) == (
        "bridge",
        "Harbour bridge",
        "2024-03-05T14:30:00+01:00",
    )


def test_pdf_without_metadata_is_named_by_its_file(tmp_path: Path) -> None:
    [article] = read_paths([write(tmp_path / "port-report.pdf", docmaker.pdf([["Alat port grew."]]))])[0]
    assert (article.title, article.published) == ("Port report", "")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            docmaker.pdf([["Secret."]], password="pw"),
            "encrypted PDF: it needs a password; save a copy without one",
        ),
        (docmaker.pdf([[], []]), "no text in the PDF (scanned pages or images only?); run OCR on it first"),
        (b"%PDF-1.4\nnot really", "not a readable PDF"),
        (b"", "not a readable PDF"),
    ],
)
def test_pdfs_that_cannot_be_read_are_skipped(tmp_path: Path, raw: bytes, reason: str) -> None:
    articles, [skipped] = read_paths([write(tmp_path / "x.pdf", raw)])
    assert articles == [] and skipped.path == "x.pdf" and skipped.reason.startswith(reason)


def test_pdf_locked_against_editing_only_is_read(tmp_path: Path) -> None:
    raw = docmaker.pdf([["Open to read."]], password="owner", owner_only=True)
    assert read_paths([write(tmp_path / "x.pdf", raw)])[0][0].text == "Open to read."


def test_pdf_unreadable_date_is_noted(tmp_path: Path) -> None:
    raw = docmaker.pdf([["Text."]], info={"/CreationDate": "last spring"})
    [article], _, notes = read_noting(write(tmp_path / "x.pdf", raw))
    assert article.published == "" and notes == ["x.pdf: last spring"]


# --- DOCX ---------------------------------------------------------------------------------------


def test_docx_paragraphs_and_core_properties(tmp_path: Path) -> None:
    raw = docmaker.docx(
        ["The ferry resumed.", "", "It carries 200 passengers."],
        title="Ferry news",
        created=dt.datetime(2024, 3, 5, 10, 30),  # written as UTC ("...Z"), as Word writes it
    )
    [article] = read_paths([write(tmp_path / "ferry.docx", raw)])[0]
    assert article.text == "The ferry resumed.\n\nIt carries 200 passengers."  # empty paragraphs dropped
    assert (article.id, article.title, article.published) == (
        "ferry",
        "Ferry news",
        "2024-03-05T10:30:00+00:00",
    )
    # W3CDTF may carry an offset: it is kept.
    offset = docmaker.docx(["Body."], raw_created="2024-03-05T14:30:00+04:00")
    assert read_paths([write(tmp_path / "x.docx", offset)])[0][0].published == "2024-03-05T14:30:00+04:00"


def test_docx_title_paragraph_and_no_date(tmp_path: Path) -> None:
    # python-docx stamps new documents with its template's date: that is no date of the document.
    [article] = read_paths([write(tmp_path / "x.docx", docmaker.docx(["Body."], heading="Bridge opens"))])[0]
    assert (article.title, article.text, article.published) == ("Bridge opens", "Body.", "")


def test_docx_unreadable_date_is_noted_and_broken_files_skipped(tmp_path: Path) -> None:
    write(tmp_path / "a.docx", docmaker.docx(["Body."], raw_created="someday"))
    write(tmp_path / "b.docx", b"PK\x03\x04 not a zip")
    write(tmp_path / "c.docx", docmaker.docx([]))
    articles, skipped, notes = read_noting(tmp_path)
    assert [a.published for a in articles] == [""] and notes == ["a.docx: someday"]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["b.docx"].startswith("not a readable Word .docx file")
    assert reasons["c.docx"] == "no text in the document (tables, headers and images are not read)"


# --- every kind of source gives its date --------------------------------------------------------

HTML = (
    "<html><head><title>Drills</title>"
    '<meta property="article:published_time" content="2024-03-05T14:30:00+01:00"></head>'
    "<body><article><h1>Drills</h1><p>The drills began in Kars on Tuesday, with troops from both "
    "countries taking part in the exercises near the border.</p></article></body></html>"
)
FRONT = "---\ntitle: Drills\ndate: 2024-03-05T14:30:00+01:00\n---\nThe drills began."
T = "2024-03-05T14:30:00+01:00"  # the date every source below states, with its time and offset
BEGAN = "The drills began."


@pytest.mark.parametrize(
    ("name", "content", "published"),
    [
        ("a.txt", "date: 2024-03-05T14:30:00+01:00\n\nThe drills began.", "2024-03-05T14:30:00+01:00"),
        ("b.txt", "Date: 5 March 2024\n\nThe drills began.", "2024-03-05"),
        ("c.md", FRONT, "2024-03-05T14:30:00+01:00"),
        ("d.md", "---\ndate: 2024-03-05\n---\nThe drills began.", "2024-03-05"),
        ("e.json", json.dumps({"text": BEGAN, "published": "2024-03-05T14:30+01:00"}), T),
        ("f.jsonl", json.dumps({"text": BEGAN, "date": "Tue, 05 Mar 2024 14:30:00 +0100"}), T),
        ("g.html", HTML, "2024-03-05T14:30:00+01:00"),
        ("h.rss", docmaker.rss(), "2024-03-05T14:30:00+01:00"),
        ("i.pdf", docmaker.pdf([[BEGAN]], info={"/CreationDate": "D:20240305143000+01'00'"}), T),
        ("j.docx", docmaker.docx([BEGAN], created=dt.datetime(2024, 3, 5, 13, 30)), "2024-03-05T13:30:00Z"),
        ("k.json", json.dumps({"text": BEGAN, "published": 1709645400}), "2024-03-05T13:30:00Z"),  # Unix time
        ("l.txt", "date: 5 March 2024 14:30 CET\n\nThe drills began.", T),  # a zone abbreviation
    ],
)  # fmt: skip
def test_every_kind_of_source_gives_its_date(
    tmp_path: Path, name: str, content: str | bytes, published: str
) -> None:
    articles, _, notes = read_noting(write(tmp_path / name, content))
    assert articles[0].published == published.replace("Z", "+00:00") and notes == []


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("a.txt", "date: the day after\n\nThe drills began.", "a.txt: the day after"),
        ("c.md", "---\ndate: soon\n---\nThe drills began.", "c.md: soon"),
        ("e.jsonl", '{"text": "x"}\n{"text": "The drills began.", "published": "n/a"}', "e.jsonl:2: n/a"),
        ("f.txt", "date: 07/05/2024\n\nThe drills began.", "f.txt: 07/05/2024"),  # day/month order unknown
        ("g.json", json.dumps({"text": BEGAN, "published": [2024, 3, 5]}), "g.json: [2024, 3, 5]"),
    ],
)
def test_an_unreadable_date_is_noted_never_fatal(tmp_path: Path, name: str, content: str, where: str) -> None:
    articles, skipped, notes = read_noting(write(tmp_path / name, content))
    assert skipped == [] and articles[-1].published == "" and notes == [where]


def full_notes(*paths: Path) -> tuple[list[Article], list[Skipped], list[str]]:
    """read_paths, plus the date notes it gave as `citeqa ingest` words them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DateNote)
        articles, skipped = read_paths(list(paths))
    return articles, skipped, [str(w.message) for w in caught if isinstance(w.message, DateNote)]


@pytest.mark.parametrize(
    ("record", "published", "note"),
    [
        ({"published": 1715077800}, "2024-05-07T10:30:00+00:00", ""),  # it was skipped: "must be a string"
        ({"date": 1715077800000}, "2024-05-07T10:30:00+00:00", ""),  # milliseconds
        (
            {"published": True},
            "",
            "j1.json: unreadable date true (a true/false value, not text or a number); "
            "ingested without a date",
        ),
        (
            {"published": {"$date": "2024-05-07"}},
            "",
            'j1.json: unreadable date {"$date": "2024-05-07"} (a JSON object, not text or a number); '
            "ingested without a date",
        ),
        (
            {"published": "7 May 2024 14:00 IST"},
            "2024-05-07T14:00:00",
            "j1.json: ambiguous time zone 'IST' (India +05:30, Ireland +01:00 or Israel +02:00) in "
            "'7 May 2024 14:00 IST'; the time is kept without a zone",
        ),
        (
            {"published": "07/05/2024"},
            "",
            "j1.json: ambiguous date '07/05/2024' (day/month order unknown: 2024-05-07 or 2024-07-05); "
            "ingested without a date",
        ),
    ],
)
def test_a_json_articles_odd_date_keeps_the_article_and_is_noted(
    tmp_path: Path, record: dict[str, object], published: str, note: str
) -> None:
    path = write(tmp_path / "j1.json", json.dumps({"title": "Drills", "text": BEGAN, **record}))
    [article], skipped, notes = full_notes(path)
    assert skipped == [] and (article.title, article.published) == ("Drills", published)
    assert notes == ([note] if note else [])


@pytest.mark.parametrize(
    ("zone", "published", "note"),
    [
        ("CET", "2024-03-06T09:00:00+01:00", ""),  # it was stored without a zone, and silently
        ("XYZ", "2024-03-06T09:00:00", "time zone 'XYZ' not understood in 'Wed, 06 Mar 2024 09:00:00 XYZ'"),
    ],
)
def test_a_feed_entrys_zone_abbreviation(tmp_path: Path, zone: str, published: str, note: str) -> None:
    feed = write(tmp_path / "wire.xml", docmaker.rss(f"Wed, 06 Mar 2024 09:00:00 {zone}"))
    articles, _, notes = full_notes(feed)
    assert [a.published for a in articles] == ["2024-03-05T14:30:00+01:00", published]
    assert notes == ([f"wire.xml entry 2: {note}; the time is kept without a zone"] if note else [])


# --- citations into extracted text (the real model) ---------------------------------------------


def test_citations_into_pdf_docx_and_feed_text_round_trip(tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    from citeqa import Assistant
    from tests.conftest import round_trips

    write(
        tmp_path / "docs" / "bridge.pdf",
        docmaker.pdf(
            [["The Araz bridge near Horadiz reopened", "to traffic on Monday after two years of repairs."],
             ["Engineers replaced all twelve steel spans of the bridge."]],
            info={"/Title": "Araz bridge reopens", "/CreationDate": "D:20240305143000+04'00'"},
        ),
    )  # fmt: skip
    write(
        tmp_path / "docs" / "harvest.docx",
        docmaker.docx(
            ["Farmers in Ganja harvested a record 40,000 tonnes of pomegranates this autumn.",
             "Most of the crop is exported to Russia and Ukraine."],
            title="Record pomegranate harvest", raw_created="2023-11-02T09:00:00+04:00",
        ),
    )  # fmt: skip
    write(tmp_path / "docs" / "wire.rss", docmaker.rss())
    qa = Assistant.build([tmp_path / "docs"], kb=tmp_path / "kb", embedder=real_embedder, progress=False)
    questions = {
        "How many steel spans did engineers replace on the Araz bridge?": "2024-03-05T14:30:00+04:00",
        "How many tonnes of pomegranates did farmers in Ganja harvest?": "2023-11-02T09:00:00+04:00",
        "How many passengers does the ferry from Baku to Aktau carry?": "2024-03-05T14:30:00+01:00",
    }
    for question, published in questions.items():
        answer = qa.ask(question)
        assert answer.citations and round_trips(qa, answer), answer.text
        assert answer.citations[0].published == published
    qa.close()
