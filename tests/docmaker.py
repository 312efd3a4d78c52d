"""Small PDF, DOCX and feed files made in the tests themselves (no binary fixtures to trust).

`pdf()` writes real text pages with pypdf's writer: a Helvetica text object per page, so pypdf's
extractor has a text layer to read, exactly as in a PDF a word processor exports.
"""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject


def _escaped(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(
    pages: list[list[str]],
    *,
    info: dict[str, str] | None = None,
    password: str | None = None,
    owner_only: bool = False,
) -> bytes:
    """A PDF whose pages hold these lines of text (an empty list: a page without text, like a scan).
    `info` is its document information (/Title, /CreationDate); `password` encrypts it (with
    `owner_only`, the password guards editing only and it opens without one)."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td", *(f"({_escaped(ln)}) Tj T*" for ln in lines), "ET"]
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops if lines else []).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)  # pypdf has no public call for this
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
        )
    if info:
        writer.add_metadata(info)
    if password is not None:
        user = "" if owner_only else password
        writer.encrypt(user_password=user, owner_password=password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx(
    paragraphs: list[str],
    *,
    title: str = "",
    created: dt.datetime | None = None,
    heading: str = "",
    raw_created: str | None = None,
) -> bytes:
    """A Word document with these paragraphs (an optional "Title"-styled first one) and core
    properties; `raw_created` writes the creation date's text as given (even one that is no date)."""
    import zipfile

    import docx as python_docx

    document = python_docx.Document()
    if heading:
        document.add_paragraph(heading, style="Title")
    for p in paragraphs:
        document.add_paragraph(p)
    document.core_properties.title = title
    if created is not None:
        document.core_properties.created = created
    out = io.BytesIO()
    document.save(out)
    if raw_created is None:
        return out.getvalue()
    # python-docx only writes real datetimes: rewrite the core properties' text by hand.
    src, dst = zipfile.ZipFile(io.BytesIO(out.getvalue())), io.BytesIO()
    with zipfile.ZipFile(dst, "w") as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                start = text.index(">", text.index("<dcterms:created")) + 1
                data = (text[:start] + raw_created + text[text.index("</dcterms:created>") :]).encode()
            z.writestr(item, data)
    return dst.getvalue()


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
<title>Caspian Wire</title><link>https://news.example/</link><description>Ports and ferries</description>
<item>
  <title>Ferry to Aktau resumes</title>
  <link>https://news.example/2024/ferry-aktau</link>
  <guid>https://news.example/2024/ferry-aktau</guid>
  <pubDate>Tue, 05 Mar 2024 14:30:00 +0100</pubDate>
  <description>Short summary only.</description>
  <content:encoded><![CDATA[<p>The ferry from Baku to Aktau resumed on Tuesday.</p>
<p>It carries 200 passengers &amp; 40 trucks.</p><script>alert(1)</script>]]></content:encoded>
</item>
<item>
  <title>Port statistics</title>
  <link>/2024/port-stats</link>
  <pubDate>{second_date}</pubDate>
  <description>Cargo volumes at Alat port rose by &lt;b&gt;12%&lt;/b&gt; in February.</description>
</item>
<item><title>Link only</title><link>https://news.example/empty</link></item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom Desk</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6</id>
  <updated>2024-03-06T09:00:00Z</updated>
  <entry>
    <title type="html">Bridge &lt;em&gt;opens&lt;/em&gt;</title>
    <id>tag:atom.example,2024:bridge</id>
    <updated>2024-03-06T09:00:00Z</updated>
    <published>2024-03-05T08:15:00-05:00</published>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>The Araz bridge opened.</p>
    <p>Traffic flows both ways.</p></div></content>
  </entry>
</feed>
"""


def rss(second_date: str = "Wed, 06 Mar 2024 09:00:00 GMT") -> str:
    return RSS.replace("{second_date}", second_date)
