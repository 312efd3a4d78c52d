"""app/markup.py and app/templates/: autoescaped Jinja2 macros whose line breaks are not markup."""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from citeqa.schema import Answer, AnswerSentence, Article, Citation, ShortAnswer
from citeqa_app import markup, render, render_library

APP = Path(markup.__file__).resolve().parent
SCRIPT = "<script>alert(1)</script>"


def test_a_title_with_a_script_is_shown_as_its_characters():
    art = Article(id="a1", title=SCRIPT, text="Kars.", source=SCRIPT, published="2023-04-18")
    html = render.article_view(art, 0, 4)
    assert '<h3 class="cq-article-title">&lt;script&gt;alert(1)&lt;/script&gt;</h3>' in html
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; · 18 April 2023" in html  # the byline, escaped once


def test_quotes_cannot_leave_an_attribute():
    html = render.empty_state(['" onmouseover="alert(1)'], 1)
    assert 'data-example="&#34; onmouseover=&#34;alert(1)"' in html


def test_an_answer_renders_to_exactly_this_markup():
    """Worked out by hand: the classes and data attributes the page's CSS and scripts rely on."""
    cite = Citation(
        1, "a1", "a1#0", 0, 32, "The drills will be held in Kars.", "Drills", "Azernews", "2023-04-18"
    )
    answer = Answer(
        question="Where?",
        text="The drills will be held in Kars. Soon.",
        sentences=(AnswerSentence("The drills will be held in Kars.", (1,)), AnswerSentence("Soon.", ())),
        citations=(cite,),
        hits=(),
        abstained=False,
        confidence=0.81,
        short=ShortAnswer("Kars", "a1", 27, 31, citation=1),
        timings_ms={"total": 1234.4},
    )
    button = (
        '<button type="button" class="cq-cite" data-cite="3:1" title="Drills · 18 April 2023" '
        'aria-label="Open citation 1: Drills · 18 April 2023">1</button>'
    )
    assert render.answer_body(3, answer) == (
        '<div class="cq-short"><span>Answer</span>Kars</div>'
        '<p class="cq-answer"><span class="cq-sent">The drills will be held in '
        f'<mark class="cq-span">Kars</mark>.</span>{button} <span class="cq-sent">Soon.</span></p>'
        '<div class="cq-refs"><div class="cq-ref"><span class="cq-ref-title" title="a1">Drills</span>'
        f'<span class="cq-ref-date">Azernews · 18 April 2023</span><span class="cq-ref-marks">{button}</span>'
        '</div></div><div class="cq-meta">confidence 0.81 · 1,234 ms</div>'
    )
    assert render.answer_body(3, answer, reveal=4) == (
        '<div class="cq-short"><span>Answer</span>Kars</div>'
        '<p class="cq-answer"><span class="cq-sent">The drills will be</span>'
        '<span class="cq-caret"></span></p>'
    )


def test_the_article_keeps_its_own_line_breaks_while_the_templates_lose_theirs():
    text = "First line.\n\n  Indented\tsecond.\n"
    html = render.article_view(Article(id="a1", title="T", text=text), 0, 11)
    assert (
        '<div class="cq-article-body"><mark class="cq-hl">First line.</mark>\n\n  Indented\tsecond.\n</div>'
        in html
    )
    assert "\n" not in html.replace(text[11:], "")  # every other line break was the template's


def test_line_breaks_in_template_text_are_dropped_and_printed_values_kept():
    template = markup.ENV.from_string("<p>\n  {{ a }}\n  <b>x</b> y\n</p>\n")
    assert template.render(a="1\n  2") == "<p>1\n  2<b>x</b> y</p>"


def test_a_misspelt_name_fails_the_render_instead_of_showing_nothing():
    with pytest.raises(UndefinedError):
        markup.ENV.from_string("{{ article.titel }}").render(article=Article(id="a", title="T", text="x"))
    with pytest.raises(UndefinedError):
        markup.render("panels.html", "placeholder", "Title")  # a macro argument left out


def test_renderings_are_plain_strings():
    assert type(render.article_placeholder()) is str and type(render_library.stats(1, 2)) is str
    assert render_library.brand().startswith('<div class="cq-brand"><div class="cq-logo" aria-hidden="true">')


@pytest.mark.parametrize(
    "value, shown",
    [
        ("2023-04-18", "18 April 2023"),
        ("2024-03-05T14:30:00+01:00", "5 March 2024, 14:30 +01:00"),  # the source's own offset
        ("2024-03-05T14:30:00+00:00", "5 March 2024, 14:30 UTC"),
        ("2024-03-05T14:30:00", "5 March 2024, 14:30"),  # no offset given: none made up
        ("", ""),
        ("April 2023", "April 2023"),
        (None, None),
    ],
)
def test_nice_date(value, shown):
    assert markup.nice_date(value) == shown


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib")
def test_every_file_the_page_reads_ships_with_the_package():
    import tomllib

    config = tomllib.loads((APP.parent / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = config["tool"]["setuptools"]["package-data"]
    globs = package_data["citeqa_app"] + [f"templates/{g}" for g in package_data["citeqa_app.templates"]]
    assert "citeqa_app.templates" in config["tool"]["setuptools"]["packages"]
    data = [
        p.relative_to(APP).as_posix()
        for p in APP.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert {"style.css", "demo.json", "templates/chat.html"} <= set(data)
    assert [f for f in data if not any(fnmatch.fnmatch(f, g) for g in globs)] == []
    assert any(d.startswith("jinja2") for d in config["project"]["dependencies"])
