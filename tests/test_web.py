"""Ingesting URLs (citeqa.sources.web), served by a real HTTP server on 127.0.0.1 in a thread."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from citeqa.ingest import read_paths
from citeqa.sources.web import DOCX_TYPE, USER_AGENT, FetchSettings, fetch, is_url, read_url
from tests import docmaker

PAGE = (
    "<html><head><title>Drills begin in Kars</title>"
    '<meta property="article:published_time" content="2024-03-05T14:30:00+04:00">'
    '<link rel="canonical" href="https://elsewhere.example/drills"></head><body><nav>MENU</nav>'
    "<article><h1>Drills begin in Kars</h1><p>The joint drills began in Kars on Tuesday, with troops "
    "from both countries taking part in the exercises near the border.</p><p>They end on Friday, "
    "the ministry said.</p></article><footer>FOOTER</footer></body></html>"
)
LATIN1 = (
    "<html><body><article><p>Le café de la gare a rouvert à Kars, dit le maire, mardi dernier.</p>"
    "</article></body></html>"
)
SEEN_AGENTS: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    ROUTES: dict[str, tuple[int, str, bytes]] = {
        "/drills.html": (200, "text/html; charset=utf-8", PAGE.encode()),
        "/feed": (200, "application/rss+xml", docmaker.rss().encode()),
        "/feed-as-html": (200, "text/html", docmaker.rss().encode()),  # a server that mislabels it
        "/report.pdf": (200, "application/pdf", docmaker.pdf([["The port grew by 12%."]])),
        "/memo.docx": (200, DOCX_TYPE, docmaker.docx(["The harbour will reopen in May."])),
        "/notes.docx": (200, "application/octet-stream", docmaker.docx(["The ferry sails at noon."])),
        "/cafe": (200, "text/html; charset=iso-8859-1", LATIN1.encode("latin-1")),
        "/logo.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(64)),
        "/sitemap.xml": (200, "application/xml", b"<?xml version='1.0'?><urlset></urlset>"),
        "/big": (200, "text/html", b"<html><body><p>" + b"x" * 5000 + b"</p></body></html>"),
    }

    FLAKY: list[int] = []

    def do_GET(self) -> None:
        SEEN_AGENTS.append(self.headers.get("User-Agent", ""))
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/drills.html")
            self.end_headers()
        elif self.path == "/flaky":  # works once, then the site is down
            self.FLAKY.append(1)
            self._send(
                *(self.ROUTES["/drills.html"] if len(self.FLAKY) == 1 else (503, "text/html", b"down"))
            )
        elif self.path == "/slow":  # answers after the client has given up
            time.sleep(1.5)
            self._send(200, "text/html", PAGE.encode())
        elif self.path == "/trickle":  # each byte in time, the whole far too late
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(12):
                self.wfile.write(b"<p>more</p>" * 10)
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path.split("?")[0] in self.ROUTES:  # a query string asks for the same file
            self._send(*self.ROUTES[self.path.split("?")[0]])
        else:
            self._send(404, "text/html", b"<html><body>Not here</body></html>")

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client timed out and left
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the block ends: nothing listens there


def test_is_url() -> None:
    assert is_url("https://example.com/a") and is_url("HTTP://127.0.0.1:8000/")
    assert not is_url("example.com") and not is_url("ftp://x/y") and not is_url("https://") and not is_url(3)


def test_a_page_is_fetched_and_its_main_text_extracted(server: str) -> None:
    [(where, article)] = read_url(f"{server}/drills.html#top")
    assert where == f"{server}/drills.html#top"
    assert article.id == "127.0.0.1-" + server.rsplit(":", 1)[1] + "/drills.html"  # the fragment is no part
    assert article.title == "Drills begin in Kars"
    assert (
        article.text.startswith("The joint drills began in Kars") and "\n\nThey end on Friday" in article.text
    )
    assert "MENU" not in article.text and "FOOTER" not in article.text
    assert article.url == f"{server}/drills.html"  # where it was fetched, not its canonical link
    assert article.published == "2024-03-05T14:30:00+04:00"
    assert SEEN_AGENTS[-1] == USER_AGENT


def test_a_redirect_keeps_the_given_address_as_id_and_the_final_one_as_url(server: str) -> None:
    [(_, article)] = read_url(f"{server}/moved")
    assert article.id.endswith("/moved") and article.url == f"{server}/drills.html"


def test_a_feed_url_gives_its_entries(server: str) -> None:
    for path in ("/feed", "/feed-as-html"):  # told by its content, whatever the server calls it
        (_, ferry), (_, port), skipped = read_url(server + path)
        assert ferry.id == "news.example/2024/ferry-aktau"
        assert port.url == f"{server}/2024/port-stats"  # a relative link: against where the feed was
        assert ferry.path == server + path and ferry.published == "2024-03-05T14:30:00+01:00"
        assert skipped.path == f"{server}{path} entry 3"  # a link without a summary: nothing to read


@pytest.mark.filterwarnings("ignore::citeqa.encoding.EncodingNote")
def test_a_docx_url_by_its_type_or_by_its_name(server: str) -> None:
    [(_, memo)] = read_url(f"{server}/memo.docx")
    assert (memo.text, memo.url) == ("The harbour will reopen in May.", f"{server}/memo.docx")
    [(_, notes)] = read_url(f"{server}/notes.docx")  # a server that doesn't know the type
    assert notes.text == "The ferry sails at noon."
    [(_, signed)] = read_url(f"{server}/notes.docx?dl=1#page")  # a download link's query string
    assert signed.text == "The ferry sails at noon."


def test_a_pdf_url_and_a_page_in_a_declared_charset(server: str) -> None:
    [(_, report)] = read_url(f"{server}/report.pdf")
    assert (report.text, report.url) == ("The port grew by 12%.", f"{server}/report.pdf")
    [(_, cafe)] = read_url(f"{server}/cafe")
    assert "Le café de la gare a rouvert à Kars" in cafe.text


@pytest.mark.parametrize(
    ("path", "settings", "reason"),
    [
        ("/missing", FetchSettings(), "HTTP error 404 Not Found"),
        ("/slow", FetchSettings(timeout=0.3), "timed out after 0.3 s"),
        ("/trickle", FetchSettings(timeout=0.5), "timed out after 0.5 s"),  # the whole download counts
        ("/logo.png", FetchSettings(), "not a web page or a feed (content type image/png)"),
        (
            "/sitemap.xml",
            FetchSettings(),
            "XML that is not an RSS or Atom feed (its root element is <urlset>)",
        ),
        ("/big", FetchSettings(max_bytes=1000), "too large (the limit is 1,000 bytes)"),
    ],
)
def test_a_url_that_fails_is_skipped_with_one_line(
    server: str, path: str, settings: FetchSettings, reason: str
):
    [skipped] = read_url(server + path, settings)
    assert (skipped.path, skipped.reason) == (server + path, reason)


def test_unreachable_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    [refused] = read_url(f"http://127.0.0.1:{port}/")
    assert refused.reason == "cannot reach 127.0.0.1: connection refused"
    for bad in ("http://[::1", "http://127.0.0.1:99999/", "https://exa mple.com/", "http://user@/"):
        [skipped] = read_url(bad)
        assert skipped.reason.startswith("not a valid URL ("), (bad, skipped.reason)

    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # no resolver needed to test what it says
    [unknown] = read_url("https://no-such-host.invalid/news")
    assert unknown.reason == "cannot reach no-such-host.invalid: no such host (or no network)"


def test_fetch_settings_are_checked() -> None:
    for bad in ({"timeout": 0}, {"timeout": -1}, {"timeout": True}, {"max_bytes": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            FetchSettings(**bad)  # type: ignore[arg-type]


def test_read_paths_mixes_files_and_urls(server: str, tmp_path) -> None:
    (tmp_path / "a.txt").write_text("A local article.")
    articles, skipped = read_paths([tmp_path / "a.txt", f"{server}/drills.html", f"{server}/missing"])
    assert [a.id for a in articles][0] == "a" and len(articles) == 2
    assert [s.reason for s in skipped] == ["HTTP error 404 Not Found"]
    assert fetch(f"{server}/drills.html").content_type == "text/html"


# --- the command line, in-process with a stand-in embedder -------------------------------------


@pytest.fixture()
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    from citeqa.cli import main
    from citeqa.embed import HashEmbedder

    monkeypatch.setattr("citeqa.assistant.load_embedder", lambda *a, **k: HashEmbedder(dim=16))

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_ingests_urls_idempotently(server: str, tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    kb = str(tmp_path / "kb")
    code, out, _ = cli("ingest", f"{server}/drills.html", f"{server}/feed", "--kb", kb, "--json", "--quiet")
    report = json.loads(out)
    assert code == 0 and len(report["added"]) == 3
    assert report["skipped"] == [{"path": f"{server}/feed entry 3", "reason": report["skipped"][0]["reason"]}]
    code, out, _ = cli("ingest", f"{server}/drills.html", f"{server}/feed", "--kb", kb, "--quiet")
    assert code == 0 and "0 added, 0 updated, 3 unchanged" in out  # same ids: nothing re-embedded
    code, out, _ = cli("list", "--kb", kb)
    assert "2024-03-05T14:30:00+04:00\t" in out


def test_cli_url_that_fails_beside_one_that_works(server: str, tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("ingest", f"{server}/drills.html", f"{server}/missing", "--kb", str(tmp_path / "kb"))
    assert code == 0 and "1 added" in out and f"  skipped {server}/missing: HTTP error 404 Not Found" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/missing"], "nothing could be read: {server}/missing: HTTP error 404 Not Found"),
        (["/slow", "--timeout", "0.3"], "nothing could be read: {server}/slow: timed out after 0.3 s"),
        (["/drills.html", "--timeout", "0"], "timeout must be a positive number of seconds, got 0.0"),
    ],
)
def test_cli_reading_nothing_is_one_line_and_builds_nothing(server, tmp_path, cli, args, message) -> None:  # type: ignore[no-untyped-def]
    kb = tmp_path / "kb"
    code, out, err = cli("ingest", server + args[0], *args[1:], "--kb", str(kb))
    assert code == 2 and out == ""
    assert err == f"citeqa: error: {message.format(server=server)}\n"
    assert not kb.exists()


def test_cli_prune_keeps_the_articles_of_a_url_that_failed_this_time(server: str, tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    kb = str(tmp_path / "kb")
    (tmp_path / "a.txt").write_text("A local article about the ferry.")
    assert cli("ingest", str(tmp_path / "a.txt"), f"{server}/flaky", "--kb", kb, "--quiet")[0] == 0
    code, out, _ = cli("ingest", str(tmp_path / "a.txt"), f"{server}/flaky", "--kb", kb, "--prune")
    assert code == 0 and "removed" not in out and "HTTP error 503 Service Unavailable" in out
    (tmp_path / "b.txt").write_text("Another one.")
    code, out, _ = cli("ingest", str(tmp_path / "b.txt"), "--kb", kb, "--prune", "--quiet")
    assert code == 0 and "2 removed" in out  # gone from the inputs: pruned as before
