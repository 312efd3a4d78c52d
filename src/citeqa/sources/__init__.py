"""Readers, one module per kind of source, that `citeqa.ingest` dispatches to.

- `article`: building an `Article` from what any source gave (ids, titles, dates): shared by all;
- `plain`: .txt (metadata lines) and .md (front matter);
- `html`: web pages, from a file or a URL (trafilatura), and HTML fragments (feed entries);
- `records`: .json / .jsonl records and dicts;
- `feeds`: RSS and Atom feeds (feedparser);
- `documents`: PDF (pypdf) and Word .docx (python-docx);
- `web`: fetching a URL the user gave (the only module that uses the network).

Each reader takes a file's bytes and returns `Item`s: (where it was read, article) or `Skipped`.
"""
