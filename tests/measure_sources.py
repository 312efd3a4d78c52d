"""How long reading a large PDF, DOCX and feed takes (the numbers in the README's ingest section).

    PYTHONPATH=src python -m tests.measure_sources

Reading only (no embedding): a 100-page PDF, a 1,000-paragraph DOCX and a 500-entry RSS feed, made
here with tests/docmaker.py; the best of three runs after one to load the libraries.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from citeqa.ingest import read_paths
from tests import docmaker

LINE = "The ferry from Baku to Aktau resumed on Tuesday after a two-week pause caused by storms."


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    (folder / "big.pdf").write_bytes(docmaker.pdf([[LINE] * 40 for _ in range(100)], info={"/Title": "Big"}))
    (folder / "big.docx").write_bytes(docmaker.docx([LINE * 3] * 1000, title="Big"))
    items = "".join(
        f"<item><title>Item {i}</title><link>https://news.example/{i}</link>"
        f"<pubDate>Tue, 05 Mar 2024 14:30:00 +0100</pubDate><description>{LINE} {i}</description></item>"
        for i in range(500)
    )
    (folder / "big.rss").write_text(
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>Big</title>{items}</channel></rss>"
    )
    for name in ("big.pdf", "big.docx", "big.rss"):
        path = folder / name
        read_paths([path])
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            articles, _ = read_paths([path])
            best = min(best, time.perf_counter() - t0)
        chars = sum(len(a.text) for a in articles)
        size = path.stat().st_size
        print(
            f"{name}: {size:,} bytes -> {len(articles)} article(s), {chars:,} characters, {best * 1e3:.0f} ms"
        )


if __name__ == "__main__":
    main()
