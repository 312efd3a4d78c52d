"""Answers written by the user's own language model, every sentence checked against its citation.

Off unless `Config.llm_url` names an OpenAI-compatible server (llm_client.py). The model is given
the retrieved passages numbered [1]..[k], the conversation so far and the question, and asked to
put the number of the passage after each sentence (llm_reply.py reads that and the other citation
styles models write). Then each sentence it wrote is checked
(verify.py) against the passages it cites, or, when it cites none (or only numbers that don't
exist), against every passage, and gets the one that supports it best:
- supported: its citation points at the exact sentence(s) of the passage that support it
  (`article.text[start:end] == quote`, as every citation);
- unsupported: kept with `supported: false` (the page strikes it through), or dropped with
  `Config(llm_unsupported="drop")` (the answer's `notice` then says how many were left out); its
  citation, when it has one, shows what it was checked against;
- numbers, names and dates found in none of its cited passages are `flagged`.

Whatever goes wrong with the server (refused, slow, an error, not the protocol), or when not one
sentence of the reply is supported, the answer is the extractive one, with a one-line `notice`; so
too when the model says the passages don't answer the question (as it is asked to), with a notice
that says so rather than one that blames it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from citeqa.answer import ArticleMeta, citation
from citeqa.config import Config
from citeqa.errors import ConfigError
from citeqa.llm_client import ChatClient, LLMError
from citeqa.llm_reply import ThinkingFilter, says_no_answer, split_written, without_thinking
from citeqa.schema import Answer, AnswerSentence, Citation, Hit
from citeqa.text import plural, squash
from citeqa.verify import Source, Support, best_source, check, unfound_facts

OnText = Callable[[str], None]
HISTORY_TURNS = 3  # earlier questions and answers the model is shown (follow-ups need a few)

INSTRUCTIONS = (
    "Answer the question using only the numbered passages below. Write one to three short sentences. "
    "End every sentence with the number of the passage that states it, in square brackets, like [2]. "
    "Use only facts the passages state: no outside knowledge, no guesses. "
    "If the passages do not answer the question, say so in one sentence."
)


NO_ANSWER = "The language model found no answer in the passages; this is the extractive answer."
UNSUPPORTED = (
    "The language model's answer had no sentence its passages support; this is the extractive answer."
)


def messages(
    question: str,
    hits: Sequence[Hit],
    meta: Mapping[str, ArticleMeta],
    history: Sequence[tuple[str, str]] = (),
) -> list[dict[str, str]]:
    """The chat-completion messages: the conversation so far (its last HISTORY_TURNS questions and
    answers), then the numbered passages and the question."""
    out = [{"role": "system", "content": INSTRUCTIONS}]
    for q, a in list(history)[-HISTORY_TURNS:]:
        out += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    blocks = []
    for i, h in enumerate(hits, start=1):
        m = meta.get(h.passage.article_id, ArticleMeta())
        head = " · ".join(x for x in (m.title, m.published[:10]) if x)
        blocks.append(
            f"[{i}] {head}\n{squash(h.passage.text)}" if head else f"[{i}] {squash(h.passage.text)}"
        )
    content = "Passages:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}"
    out.append({"role": "user", "content": content})
    return out


def verified(
    question: str,
    written: Sequence[tuple[str, tuple[int, ...]]],
    hits: Sequence[Hit],
    meta: Mapping[str, ArticleMeta],
    *,
    unsupported: str = "mark",
) -> Answer | None:
    """The written reply (its sentences and what each cites: `split_written`) checked sentence by
    sentence, as an Answer (mode "llm"); None when not one of its sentences is supported (the caller
    then falls back to the extractive answer). A sentence that says the passages don't answer is no
    support of an answer, even when it passes the check (it repeats the question's words)."""
    sources = [_source(h, meta) for h in hits]
    sentences: list[AnswerSentence] = []
    citations: list[Citation] = []
    numbered: dict[tuple[str, int, int], int] = {}
    dropped = 0
    for sentence, cited in written:
        valid = [n for n in cited if 1 <= n <= len(hits)]
        if valid:
            v = check(sentence, [sources[n - 1] for n in valid])
            hit = hits[valid[v.source] - 1] if v.source >= 0 else None
        else:
            v = best_source(sentence, sources)
            hit = hits[v.source] if v.source >= 0 else None
        if not v.supported and unsupported == "drop":
            dropped += 1
            continue
        backing = [(hit, v)] if hit is not None and v.quote else []
        if v.supported and len(valid) > 1:
            backing += _other_backing(sentence, [(hits[n - 1], sources[n - 1]) for n in valid], v.source)
        cites: list[int] = []
        for h, w in backing:
            key = (h.passage.article_id, w.start, w.end)
            if key not in numbered:
                numbered[key] = len(numbered) + 1
                citations.append(citation(numbered[key], h, w.start, w.end, w.quote, meta))
            cites.append(numbered[key])
        sentences.append(AnswerSentence(sentence, tuple(cites), supported=v.supported, flagged=v.unfound))
    supported = sum(bool(s.supported) and not says_no_answer(s.text) for s in sentences)
    if not supported:
        return None
    return Answer(
        question=question,
        text=" ".join(s.text for s in sentences),
        sentences=tuple(sentences),
        citations=tuple(citations),
        hits=tuple(hits),
        abstained=False,
        confidence=supported / max(len(written), 1),  # the share of its sentences that are supported
        mode="llm",
        notice=left_out(dropped),
    )


def left_out(dropped: int) -> str:
    """The notice of a written answer some sentences were left out of (`llm_unsupported="drop"`):
    the reader should know there was more, and why it isn't shown."""
    if not dropped:
        return ""
    were = "was" if dropped == 1 else "were"
    return f"{plural(dropped, 'sentence')} the passages don't support {were} left out."


def _other_backing(
    sentence: str, cited: Sequence[tuple[Hit, Source]], main: int
) -> list[tuple[Hit, Support]]:
    """The other cited passages a sentence needs besides its supporting one: those holding a
    number, name or date the main one lacks ("the toll rose from 12 to 19", citing the reports of
    12 and of 19), each with its best window, so every fact it states is in a quote it cites."""
    missing = set(unfound_facts(sentence, [cited[main][1]]))
    out = []
    for i, (hit, src) in enumerate(cited):
        has = missing - set(unfound_facts(sentence, [src])) if i != main else set()
        window = check(sentence, [src]) if has else None
        if window is not None and window.quote:
            out.append((hit, window))
            missing -= has
    return out


def _source(hit: Hit, meta: Mapping[str, ArticleMeta]) -> Source:
    p = hit.passage
    m = meta.get(p.article_id, ArticleMeta())
    return Source(p.text, p.start, p.sentences, m.title, m.published)


def write(
    question: str,
    hits: Sequence[Hit],
    meta: Mapping[str, ArticleMeta],
    client: ChatClient,
    fallback: Callable[[], Answer],
    *,
    history: Sequence[tuple[str, str]] = (),
    on_text: OnText | None = None,
    unsupported: str = "mark",
) -> Answer:
    """The model's answer, verified; the extractive one (`fallback()`) with a notice when the model
    can't be used or wrote nothing the passages support. `on_text` receives the reply as it streams
    (without the thinking a reasoning model opens it with: llm_reply.py)."""
    if not hits:
        return fallback()  # nothing to cite: the extractive answer says so
    msgs = messages(question, hits, meta, history)
    try:
        if on_text is None:
            text = client.complete(msgs)
        else:
            parts, thinking = [], ThinkingFilter()  # a reasoning model's thinking is not shown
            for delta in client.stream(msgs):
                parts.append(delta)
                shown = thinking.feed(delta)
                if shown:
                    on_text(shown)
            text = "".join(parts)
        text = without_thinking(text)
        if not text:
            raise LLMError("its reply was only its reasoning, no answer")
    except LLMError as exc:
        return replace(
            fallback(), notice=f"The language model could not answer ({exc}); this is the extractive answer."
        )
    written = split_written(text, passages=len(hits))
    answer = verified(question, written, hits, meta, unsupported=unsupported)
    if answer is None:
        # the model said the passages hold no answer (as the prompt asks it to): no failure of its
        found_none = any(says_no_answer(sentence) for sentence, _ in written)
        return replace(fallback(), notice=NO_ANSWER if found_none else UNSUPPORTED)
    return answer


def uses_llm(config: Config, llm: bool | None) -> bool:
    """Whether a question's answer is written by the language model: `llm` None follows the config."""
    if llm and not config.llm:
        raise ConfigError("no language model is configured: set llm_url (--llm-url, $CITEQA_LLM_URL)")
    return config.llm if llm is None else bool(llm)


def write_with(
    config: Config,
    question: str,
    hits: Sequence[Hit],
    meta: Mapping[str, ArticleMeta],
    fallback: Callable[[], Answer],
    history: Sequence[tuple[str, str]] = (),
    on_text: OnText | None = None,
    query: str = "",
    note: str = "",
) -> Answer:
    """`write` with the server and options of `config`; a written answer keeps the retrieval
    `query` and the `note` on how the question's time was read, as the extractive one does."""
    client = ChatClient(config.llm_url, config.llm_model, config.llm_api_key, config.llm_timeout)
    answer = write(
        question,
        hits,
        meta,
        client,
        fallback,
        history=history,
        on_text=on_text,
        unsupported=config.llm_unsupported,
    )
    return replace(answer, query=query or question, note=note) if answer.mode == "llm" else answer
