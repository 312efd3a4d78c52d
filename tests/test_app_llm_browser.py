"""The page with a language model configured (the scripted server of tests/llm_server.py): the
switch, the model's words streaming in, unsupported sentences struck through and flagged, the
citations of the checked answer, the switch turned off, and the fallback notice."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from types import SimpleNamespace

import pytest

from citeqa.config import Config
from tests.llm_server import ScriptedLLM, free_port, passage_with
from tests.test_app_browser import (  # noqa: F401 (browser is a fixture)
    OUT,
    SEED_QUESTION,
    ask,
    browser,
    close_tab,
    last_answer,
    new_tab,
    open_citation,
)

pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")


def reply(request) -> str:
    n = passage_with(request, "be held in Kars")
    return f"The drills will be held in Kars [{n}]. About 9,000 troops will take part [{n}]."


@pytest.fixture(scope="module")
def llm_live(seed_kb, real_embedder, tmp_path_factory):
    from citeqa import Assistant
    from citeqa_app.ui import build_app, launch_options

    kb = tmp_path_factory.mktemp("web-llm") / "kb"
    shutil.copytree(seed_kb, kb)
    with ScriptedLLM() as llm:
        qa = Assistant.open(kb, embedder=real_embedder)
        qa.config = qa.config.with_(llm_url=llm.url, llm_model="scripted-model", top_k=10, llm_timeout=5.0)
        demo = build_app(qa)
        port = free_port()
        demo.queue().launch(
            server_name="127.0.0.1",
            server_port=port,
            prevent_thread_lock=True,
            quiet=True,
            **launch_options(),
        )
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", qa=qa, llm=llm)
        demo.close()
        qa.close()


@pytest.mark.browser
def test_written_answer_streams_then_shows_what_its_citations_support(browser, llm_live):  # noqa: F811
    llm = llm_live.llm
    llm.script, llm.behaviour, llm.pace = reply, "ok", 0.15
    page = new_tab(browser, llm_live)
    switch = page.locator("#cq-use-llm input[type=checkbox]")
    assert switch.is_visible() and switch.is_checked()
    assert "scripted-model" in page.inner_text("#cq-use-llm")
    page.fill("#cq-question textarea", SEED_QUESTION)
    page.click("#cq-send")
    # the model's own words, markers and all, while it writes
    page.wait_for_function(
        """() => { const d = document.querySelector('#cq-chat .cq-drafting .cq-draft');
                   return d && d.textContent.includes('The drills will be held'); }""",
        timeout=30_000,
    )
    page.wait_for_selector("#cq-chat .cq-bot.cq-final", timeout=30_000)
    page.screenshot(path=str(OUT / "llm-answer.png"), full_page=True)
    sentences = last_answer(page)
    assert [s["sentence"].strip() for s in sentences] == [
        "The drills will be held in Kars.",
        "About 9,000 troops will take part.",
    ]
    assert page.locator("#cq-chat .cq-final .cq-unsupported del").inner_text() == (
        "About 9,000 troops will take part."
    )
    assert page.inner_text("#cq-chat .cq-final .cq-flag") == "not in its sources: 9,000"
    assert "1 of 2 sentences supported" in page.inner_text("#cq-chat .cq-final .cq-meta")
    key = sentences[0]["cites"][0]
    assert "to be held in Kars" in open_citation(page, key)
    assert llm.requests[-1]["body"]["stream"] is True

    # the switch off: the extractive answer, the server not asked
    asked = len(llm.requests)
    switch.uncheck()
    ask(page, SEED_QUESTION)
    assert len(llm.requests) == asked
    assert "confidence" in page.locator("#cq-chat .cq-final .cq-meta").last.inner_text()
    assert page.locator("#cq-chat .cq-final").last.locator(".cq-unsupported").count() == 0

    # the server failing: the extractive answer, with one line saying why
    switch.check()
    llm.behaviour = "fail"
    ask(page, SEED_QUESTION)
    notice = page.locator("#cq-chat .cq-final .cq-notice").last.inner_text()
    assert notice.startswith("The language model could not answer") and "HTTP 500" in notice
    close_tab(page)


def test_the_switch_is_hidden_without_a_language_model(tmp_path, hash_embedder):
    from citeqa import Assistant
    from citeqa_app.ui import build_app
    from tests.conftest import SEED

    qa = Assistant.build(
        [SEED], kb=tmp_path / "kb", embedder=hash_embedder, config=Config(reader=False), progress=False
    )
    demo = build_app(qa)
    switch = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "cq-use-llm")
    assert switch.visible is False
    qa.close()


def _written():
    from citeqa.schema import Answer, AnswerSentence, Citation

    cite = Citation(1, "a", "a#0", 0, 9, "Held in Kars.", "Drills")
    return Answer(
        question="Where?",
        text="Held in Kars. About <b>9,000</b> took part.",
        sentences=(
            AnswerSentence("Held in Kars.", (1,), supported=True),
            AnswerSentence("About <b>9,000</b> took part.", (), supported=False, flagged=("<b>9,000</b>",)),
        ),
        citations=(cite,),
        hits=(),
        abstained=False,
        confidence=0.5,
        mode="llm",
        notice="",
    )


def test_unsupported_sentences_render_struck_through_and_escaped():
    from citeqa_app import render

    html = render.answer_body(3, _written())
    assert (
        '<span class="cq-sent cq-unsupported" title="Not supported by its citation: &lt;b&gt;9,000&lt;/b&gt;'
        in html
    )
    assert "<del>About &lt;b&gt;9,000&lt;/b&gt; took part.</del>" in html
    assert '<span class="cq-flag">not in its sources: &lt;b&gt;9,000&lt;/b&gt;</span>' in html
    assert "<b>" not in html
    assert "written by the language model · 1 of 2 sentences supported" in html
    fallback = render.answer_body(4, replace(_written(), mode="extractive", notice="The model <x> failed."))
    assert '<p class="cq-notice">The model &lt;x&gt; failed.</p>' in fallback
    assert fallback.index("cq-notice") < fallback.index("cq-answer")  # what follows is the fallback
    dropped = render.answer_body(5, replace(_written(), notice="1 sentence … was left out."))
    assert dropped.index("cq-answer") < dropped.index('<p class="cq-notice">1 sentence … was left out.</p>')


def test_a_written_answer_survives_the_browsers_storage():
    from citeqa_app import render, storage

    turn = render.Turn(1, "Where?", _written())
    back = storage.load(json.loads(json.dumps(storage.dump([turn]))), 50).turns[0].answer
    assert back.mode == "llm"
    assert [(s.supported, s.flagged) for s in back.sentences] == [(True, ()), (False, ("<b>9,000</b>",))]
    old = storage.dump([render.Turn(1, "Where?", replace(_written(), mode="extractive"))])
    for s in old["turns"][0]["answer"]["sentences"]:  # stored before the mode existed
        s.pop("supported", None), s.pop("flagged", None)
    assert [s.supported for s in storage.load(old, 50).turns[0].answer.sentences] == [None, None]
