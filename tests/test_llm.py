"""The language-model mode (llm.py, llm_client.py) against a real HTTP server on 127.0.0.1 that speaks
the chat-completions protocol (tests/llm_server.py) with scripted replies, JSON and streamed.

Retrieval here uses the hash test double (plumbing: what is retrieved doesn't matter, the scripts cite
whichever passage holds their words); verification runs on the passages' real text.
"""

from __future__ import annotations

import json
import time

import pytest

from citeqa import Assistant
from citeqa.config import Config
from citeqa.errors import ConfigError
from citeqa.llm import UNSUPPORTED, split_written
from tests.conftest import SEED, round_trips
from tests.llm_server import ScriptedLLM, free_port, passage_with, passages

KEY = "sk-test-not-a-real-key-1234"
Q = "Where will the Heydar Aliyev-2023 drills be held?"


@pytest.fixture()
def llm():
    with ScriptedLLM() as server:
        yield server


@pytest.fixture()
def qa(tmp_path, hash_embedder, llm):
    qa = Assistant.build(
        [SEED], kb=tmp_path / "kb", embedder=hash_embedder, config=Config(reader=False), progress=False
    )
    # every passage of the seed article in the prompt, so a script finds the one it cites
    qa.config = qa.config.with_(
        top_k=20, llm_url=llm.url, llm_model="scripted", llm_api_key=KEY, llm_timeout=2.0
    )
    yield qa
    qa.close()


def kars(request) -> str:
    return f"The drills will be held in Kars [{passage_with(request, 'be held in Kars')}]."


def test_supported_reply_is_cited_to_the_exact_sentence(qa, llm):
    llm.script = kars
    a = qa.ask(Q)
    assert a.mode == "llm" and not a.notice and not a.abstained
    assert [s.supported for s in a.sentences] == [True]
    assert a.sentences[0].text == "The drills will be held in Kars." and a.sentences[0].citations == (1,)
    c = a.citations[0]
    assert "to be held in Kars" in c.quote and round_trips(qa, a)
    assert c.quote.startswith("The ceremony was held")  # the passage's sentence, not the whole passage
    d = json.loads(json.dumps(a.to_dict()))
    assert d["mode"] == "llm" and d["sentences"] == [
        {"text": "The drills will be held in Kars.", "citations": [1], "supported": True, "flagged": []}
    ]
    assert d["answer"] == "The drills will be held in Kars. [1]"


def test_the_prompt_numbers_the_passages_and_sends_model_and_key(qa, llm):
    llm.script = kars
    qa.ask(Q, top_k=3)
    req = llm.requests[-1]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"
    body = req["body"]
    assert body["model"] == "scripted" and body["stream"] is False
    assert sorted(passages(body)) == [1, 2, 3]
    assert body["messages"][0]["role"] == "system" and "[2]" in body["messages"][0]["content"]
    assert body["messages"][-1]["content"].endswith(f"Question: {Q}")


def test_streamed_reply_reaches_on_text_and_is_verified(qa, llm):
    llm.script = lambda r: (
        kars(r) + " Military cooperation first emerged in 1992 [{}].".format(passage_with(r, "1992"))
    )
    seen: list[str] = []
    a = qa.ask(Q, on_text=seen.append)
    assert llm.requests[-1]["body"]["stream"] is True
    assert len(seen) > 5 and "".join(seen).startswith("The drills will be held in Kars [")
    assert [s.supported for s in a.sentences] == [True, True]
    assert [s.citations for s in a.sentences] == [(1,), (2,)] and round_trips(qa, a)


def test_unsupported_sentence_is_marked_with_its_invented_facts(qa, llm):
    def reply(r):
        n = passage_with(r, "be held in Kars")
        return f"The drills will be held in Kars [{n}]. They will be held in Ankara with 5,000 troops [{n}]."

    llm.script = reply
    a = qa.ask(Q)
    assert [s.supported for s in a.sentences] == [True, False]
    assert a.sentences[1].flagged == ("Ankara", "5,000")
    assert a.to_dict()["sentences"][1]["supported"] is False
    assert a.confidence == 0.5  # half its sentences are supported
    dropped = qa.config
    qa.config = dropped.with_(llm_unsupported="drop")
    b = qa.ask(Q)
    assert [s.text for s in b.sentences] == ["The drills will be held in Kars."]
    # what was left out is said, not only hinted at by a lower confidence
    assert b.mode == "llm" and b.notice == "1 sentence the passages don't support was left out."
    assert b.to_dict()["notice"] == b.notice and b.confidence == 0.5
    assert not a.notice  # marked, not left out: nothing to say


@pytest.mark.parametrize(
    "style", ["Kars ({}).", "Kars. ({})", "Kars [^{}].", "Kars【{}】.", "Kars (Passage {})."]
)
def test_other_citation_styles_cite_and_are_not_invented_numbers(qa, llm, style):
    llm.script = lambda r: "The drills will be held in " + style.format(passage_with(r, "be held in Kars"))
    a = qa.ask(Q)
    assert a.mode == "llm" and not a.notice  # it was the fallback: the marker's digits were "invented"
    assert [s.text for s in a.sentences] == ["The drills will be held in Kars."] and a.sentences[0].supported
    assert a.sentences[0].flagged == () and "held in Kars" in a.citations[0].quote


THINKING = "<think>\nThe user asks where. Maybe Ankara with 5,000 troops [1]? Check.\n</think>\n\n"


@pytest.mark.parametrize("stream", [False, True])
def test_a_reasoning_models_thinking_is_neither_verified_nor_shown(qa, llm, stream):
    llm.script = lambda r: THINKING + kars(r)
    seen: list[str] = []
    a = qa.ask(Q, on_text=seen.append if stream else None)
    assert a.mode == "llm" and not a.notice
    assert [s.text for s in a.sentences] == ["The drills will be held in Kars."]
    assert "Ankara" not in json.dumps(a.to_dict())
    if stream:  # the user watches the answer, not the model thinking
        assert "".join(seen).startswith("The drills will be held in Kars [") and "Ankara" not in "".join(seen)


def test_a_reply_that_is_only_thinking_falls_back(qa, llm):
    llm.script = lambda r: "<think>The drills will be held in Kars [1], I believe, so the answer"
    for on_text in (None, lambda _: None):
        a = qa.ask(Q, on_text=on_text)
        assert a.mode == "extractive" and "only its reasoning" in a.notice


def test_an_unsupported_sentence_stays_marked_wherever_the_answer_goes(qa, llm):
    """The JSON's rendered "answer", the Markdown export, and what the model is shown of the
    conversation next: the invented sentence is flagged in the first two and left out of the third."""

    def reply(r):
        n = passage_with(r, "be held in Kars")
        return f"The drills will be held in Kars [{n}]. About 9,000 troops will take part [{n}]."

    llm.script = reply
    chat = qa.chat()
    a = chat.ask(Q)
    assert [s.supported for s in a.sentences] == [True, False]
    assert a.to_dict()["answer"] == (
        "The drills will be held in Kars. [1] About 9,000 troops will take part. "
        "[unsupported: 9,000 in none of its sources]"
    )
    md = chat.to_markdown()
    assert "~~About 9,000 troops will take part.~~ \\[unsupported: 9,000 in none of its sources\\]" in md
    chat.ask("And when?")
    shown = llm.requests[-1]["body"]["messages"]
    assert shown[2] == {"role": "assistant", "content": "The drills will be held in Kars."}


def test_a_sentence_citing_two_passages_cites_each_that_holds_one_of_its_facts(qa, llm):
    """ "... from Nakhchivan towards Kars, as cooperation began in 1992": the units' passage holds
    Nakhchivan and Kars, another passage holds 1992; both are cited, each with its own quote."""

    def reply(r):
        a, b = passage_with(r, "city of Nakhchivan"), passage_with(r, "first emerged in 1992")
        return (
            "The units involved in the drills left the city of Nakhchivan in the direction of Kars, "
            f"a cooperation that first emerged in 1992 [{a}][{b}]."
        )

    llm.script = reply
    a = qa.ask(Q)
    assert [s.supported for s in a.sentences] == [True] and a.sentences[0].citations == (1, 2)
    quotes = [c.quote for c in a.citations]
    assert any("Nakhchivan" in q for q in quotes) and any("1992" in q for q in quotes)
    assert round_trips(qa, a)


def test_uncited_sentence_gets_the_passage_that_supports_it(qa, llm):
    llm.script = lambda r: "The drills will be held in Kars."
    a = qa.ask(Q)
    assert a.mode == "llm" and a.sentences[0].supported and a.sentences[0].citations == (1,)
    assert "held in Kars" in a.citations[0].quote and round_trips(qa, a)


def test_a_citation_number_that_does_not_exist_counts_as_none(qa, llm):
    llm.script = lambda r: "The drills will be held in Kars [42]."
    a = qa.ask(Q)
    assert a.sentences[0].supported and "held in Kars" in a.citations[0].quote


def test_invented_number_is_flagged(qa, llm):
    def reply(r):
        n = passage_with(r, "1992")
        return f"{kars(r)} Military cooperation between Azerbaijan and Turkiye first emerged in 1994 [{n}]."

    llm.script = reply
    a = qa.ask(Q)
    assert [s.supported for s in a.sentences] == [True, False]
    assert a.sentences[1].flagged == ("1994",)


@pytest.mark.parametrize(
    ("behaviour", "notice"),
    [
        ("fail", "answered HTTP 500: model crashed"),
        ("malformed", "not a chat completion"),
        ("slow", "did not answer within 0.5 s"),
        ("html", "not a chat completion"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_server_trouble_falls_back_to_the_extractive_answer(qa, llm, behaviour, notice, stream):
    llm.script, llm.behaviour, llm.delay = kars, behaviour, 3.0
    qa.config = qa.config.with_(llm_timeout=0.5)
    t = time.perf_counter()
    a = qa.ask(Q, on_text=(lambda _: None) if stream else None)
    assert time.perf_counter() - t < 2.5  # nothing hangs
    assert a.mode == "extractive" and notice in a.notice and a.notice.count("\n") == 0
    assert a.notice.startswith("The language model could not answer") and a.notice.endswith(
        "extractive answer."
    )
    assert KEY not in a.notice and a.to_dict()["notice"] == a.notice


def test_a_stream_of_garbage_falls_back(qa, llm):
    llm.behaviour = "garbage-stream"
    a = qa.ask(Q, on_text=lambda _: None)
    assert a.mode == "extractive" and "not chat-completion events" in a.notice


def test_a_stream_that_never_ends_is_cut_off_at_the_timeout(qa, llm):
    llm.script, llm.behaviour, llm.delay = kars, "trickle", 0.05
    qa.config = qa.config.with_(llm_timeout=0.8)
    t = time.perf_counter()
    a = qa.ask(Q, on_text=lambda _: None)
    assert time.perf_counter() - t < 2.5
    assert a.mode == "extractive" and "within 0.8 s" in a.notice


@pytest.mark.parametrize("stream", [False, True])
def test_the_timeout_bounds_the_whole_reply_not_each_read(qa, llm, stream):
    # headers just before the timeout, then a piece just before it again: each read is within the
    # timeout, the whole reply is not (it used to end only when the late piece came, at twice it)
    llm.script, llm.behaviour, llm.delay = kars, "dawdle", 0.9
    qa.config = qa.config.with_(llm_timeout=1.0)
    t = time.perf_counter()
    a = qa.ask(Q, on_text=(lambda _: None) if stream else None)
    took = time.perf_counter() - t
    assert a.mode == "extractive" and "within 1 s" in a.notice
    assert took < 1.0 * 1.5, f"{took:.2f} s"


def test_an_error_status_is_reported_even_when_its_body_comes_too_late(qa, llm):
    llm.behaviour, llm.delay = "fail-slowly", 1.5  # HTTP 500 at once, its message after the deadline
    qa.config = qa.config.with_(llm_timeout=1.0)
    a = qa.ask(Q)
    assert a.mode == "extractive" and "answered HTTP 500" in a.notice


def test_unreachable_server_falls_back(qa):
    port = free_port()  # nothing listens on it
    qa.config = qa.config.with_(llm_url=f"http://user:secret@127.0.0.1:{port}/v1")
    a = qa.ask(Q)
    assert a.mode == "extractive"
    assert f"could not connect to http://127.0.0.1:{port}/v1/chat/completions" in a.notice
    assert "secret" not in a.notice


def test_nonsense_reply_falls_back(qa, llm):
    llm.script = lambda r: "Bananas are yellow and monkeys like them."
    a = qa.ask(Q)
    assert a.mode == "extractive" and a.notice == UNSUPPORTED


NO_ANSWER = "The language model found no answer in the passages; this is the extractive answer."


@pytest.mark.parametrize(
    "reply",
    [
        "The passages do not say where the drills will be held.",
        "I cannot answer this from the passages. None of the passages mention a venue.",
        # no sentence of it supported, and it says there is no answer: that is what it found
        "The passages do not say where the drills will be held. Bananas are yellow.",
    ],
)
def test_a_model_that_finds_no_answer_is_not_said_to_have_misbehaved(qa, llm, reply):
    llm.script = lambda r: reply
    for on_text in (None, lambda _: None):
        a = qa.ask(Q, on_text=on_text)
        assert a.mode == "extractive" and a.notice == NO_ANSWER
        assert a.to_dict()["notice"] == NO_ANSWER


def test_llm_false_answers_extractively_without_calling(qa, llm):
    a = qa.ask(Q, llm=False)
    assert a.mode == "extractive" and not a.notice and not llm.requests


def test_a_follow_up_shows_the_model_the_conversation(qa, llm):
    llm.script = kars
    chat = qa.chat()
    chat.ask(Q)
    chat.ask("Who spoke about the brotherhood between the two countries?")
    msgs = llm.requests[-1]["body"]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[1]["content"] == Q and msgs[2]["content"] == "The drills will be held in Kars."


def test_the_api_key_is_never_stored_or_shown(tmp_path, hash_embedder, llm):
    cfg = Config(reader=False, llm_url=llm.url, llm_api_key=KEY)
    assert KEY not in repr(cfg) and "llm_api_key" not in cfg.to_dict()
    assert cfg.to_dict(changed_only=True) == {"reader": False}  # a manifest keeps no llm setting
    qa = Assistant.build([SEED], kb=tmp_path / "kb", embedder=hash_embedder, config=cfg, progress=False)
    qa.close()
    assert (
        KEY not in (tmp_path / "kb" / "manifest.json").read_text()
        and llm.url not in (tmp_path / "kb" / "manifest.json").read_text()
    )


def test_config_checks_and_environment():
    with pytest.raises(ConfigError, match="http\\(s\\) URL") as err:
        Config(llm_url="ftp://user:hunter2@example.com/v1")
    assert "hunter2" not in str(err.value)
    for broken in ("http://[::1", "http://127.0.0.1:99999/v1", "http://127.0.0.1:0/v1", "http://:8080/v1"):
        with pytest.raises(ConfigError, match="http\\(s\\) URL"):
            Config(llm_url=broken)
    with pytest.raises(ConfigError, match="llm_timeout"):
        Config(llm_timeout=0)
    with pytest.raises(ConfigError, match="llm_unsupported"):
        Config(llm_unsupported="hide")
    env = {"CITEQA_LLM_URL": "http://127.0.0.1:9/v1", "CITEQA_LLM_MODEL": "m", "CITEQA_LLM_API_KEY": KEY}
    cfg = Config().with_env(env)
    assert (cfg.llm_url, cfg.llm_model, cfg.llm_api_key, cfg.llm) == ("http://127.0.0.1:9/v1", "m", KEY, True)
    assert Config(llm_url="http://x:1").with_env(env).llm_url == "http://x:1"  # the explicit setting wins
    with pytest.raises(ConfigError, match="CITEQA_LLM_TIMEOUT"):
        Config().with_env({"CITEQA_LLM_TIMEOUT": "soon"})


def test_asking_for_the_llm_without_one_configured_is_a_config_error(tmp_path, hash_embedder):
    qa = Assistant.build(
        [SEED], kb=tmp_path / "kb", embedder=hash_embedder, config=Config(reader=False), progress=False
    )
    with pytest.raises(ConfigError, match="no language model is configured"):
        qa.ask(Q, llm=True)
    qa.close()


def test_split_written_reads_markers_however_they_are_placed():
    assert split_written("Kars hosts it [1]. It ends in June [2][3].") == [
        ("Kars hosts it.", (1,)),
        ("It ends in June.", (2, 3)),
    ]
    assert split_written("Kars hosts it. [1] It ends [Passage 2, 3].") == [
        ("Kars hosts it.", (1,)),
        ("It ends.", (2, 3)),
    ]
    assert split_written("- **Kars** hosts it.[1]\n- No citation here.") == [
        ("Kars hosts it.", (1,)),
        ("No citation here.", ()),
    ]
    assert split_written("[1]") == [] and split_written("") == []
