"""`Assistant`: the one entry object. It wires the stages together and holds no logic of its own."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from citeqa.answer import ArticleMeta, compose
from citeqa.chat import ChatSession
from citeqa.config import ChunkSettings, ComposerSettings, Config, default_kb_path
from citeqa.embed import Embedder, load_embedder, resolve_model_path
from citeqa.errors import ConfigError, InputError, KBMismatchError, KBNotFoundError
from citeqa.ingest import FetchSettings, collect
from citeqa.kb import ArticleInfo, Indexer, KnowledgeBase, Manifest
from citeqa.llm import OnText, uses_llm, write_with
from citeqa.onnx_query import VerifiedQuestionEncoder, load_verified
from citeqa.reader import Reader, load_reader
from citeqa.retrieve import PREFER_BOOST, Candidate, Query, Retriever, boost
from citeqa.schema import Answer, Article, Hit, IngestReport
from citeqa.scope import Scope
from citeqa.text import check_question
from citeqa.timewords import WINDOW_BOOST, QuestionTime, read_time

if TYPE_CHECKING:
    from citeqa.evaluate.results import EvalReport

log = logging.getLogger(__name__)


class Assistant:
    """Question answering over one knowledge base.

    >>> qa = Assistant.open("embeddings/default")
    >>> qa.ask("Where will the drills be held?").text
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        config: Config,
        embedder: Embedder | None = None,
        composer: ComposerSettings | None = None,
    ) -> None:
        self.kb = kb
        self.config = config
        self.composer = composer or config.composer
        self._embedder = embedder
        self._questions: object = None  # a torch-free question encoder, False when there is none
        self._load_lock = threading.Lock()
        self.retriever = Retriever.for_config(kb, config)

    # ---------------------------------------------------------------- construction

    @classmethod
    def open(
        cls,
        kb: str | os.PathLike[str] | None = None,
        *,
        config: Config | None = None,
        embedder: Embedder | None = None,
        model: str | None = None,
    ) -> Assistant:
        """Open an existing knowledge base. Its manifest names the model, unless `model` insists."""
        path = Path(kb) if kb is not None else default_kb_path()
        want = embedder.name if embedder is not None else model
        store = KnowledgeBase.open(path, model=want, dim=embedder.dim if embedder is not None else None)
        cfg = (config or _built_with(store)).with_(
            model=store.manifest.model, chunk=ChunkSettings(**store.manifest.chunker)
        )
        return cls(store, cfg, embedder)

    @classmethod
    def build(
        cls,
        sources: Iterable[object],
        kb: str | os.PathLike[str] | None = None,
        *,
        config: Config | None = None,
        embedder: Embedder | None = None,
        progress: bool = True,
    ) -> Assistant:
        """Open the knowledge base at `kb` (creating it if needed) and add `sources` to it."""
        qa = cls.create(kb, config=config, embedder=embedder)
        qa.add(sources, progress=progress)
        return qa

    @classmethod
    def create(
        cls,
        kb: str | os.PathLike[str] | None = None,
        *,
        config: Config | None = None,
        embedder: Embedder | None = None,
    ) -> Assistant:
        """Open the knowledge base at `kb`, or create an empty one built for `config.model`."""
        path = Path(kb) if kb is not None else default_kb_path()
        cfg = config or Config()
        if embedder is not None:
            cfg = cfg.with_(model=embedder.name)
        try:
            return cls.open(path, config=cfg, embedder=embedder, model=cfg.model)
        except KBNotFoundError:
            pass
        emb = embedder or load_embedder(
            cfg.model, device=cfg.device, batch_size=cfg.batch_size, precision=cfg.precision
        )
        # The model and chunker are the knowledge base's identity (manifest fields of their own);
        # the rest it keeps as the settings it was built with, those that differ from the defaults.
        settings = {k: v for k, v in cfg.to_dict(changed_only=True).items() if k not in ("model", "chunk")}
        manifest = Manifest(model=cfg.model, dim=emb.dim, chunker=cfg.chunk.to_dict(), settings=settings)
        return cls(KnowledgeBase.create(path, manifest), cfg, emb)

    def set_index(self, setting: str) -> bool:
        """The dense index's kind: "auto" (exact search, then IVF from 200k passages), "flat"
        (always exact) or "ivf" (approximate, smaller). Kept by the knowledge base; the index is
        rebuilt from the stored vectors when it changes (no re-embedding). True if it changed."""
        return self.kb.set_index(setting)

    @property
    def embedder(self) -> Embedder:
        """Loaded on first use, so listing or removing articles never imports the model stack."""
        with self._load_lock:
            if self._embedder is None:
                self._embedder = load_embedder(
                    self.config.model,
                    device=self.config.device,
                    batch_size=self.config.batch_size,
                    precision=self.config.precision,
                )
                if self._embedder.dim != self.kb.manifest.dim:
                    raise KBMismatchError(
                        f"model {self.config.model!r} gives {self._embedder.dim}-dimensional vectors "
                        f"but {self.kb.path} holds {self.kb.manifest.dim}; rebuild the knowledge base"
                    )
            return self._embedder

    @property
    def question_encoder(self) -> Embedder | VerifiedQuestionEncoder:
        """What encodes questions: the embedder once it is loaded; before that, a verified ONNX
        export of the same model (onnx_query.load_verified), which needs neither torch nor
        sentence-transformers, so a one-shot `citeqa ask` starts in about a second, not five."""
        with self._load_lock:
            if self._embedder is not None:
                return self._embedder
            if self._questions is None:
                fast = None
                if self.config.device == "cpu" and not self.config.model.startswith("test/"):
                    fast = load_verified(self.config.model, resolve_model_path(self.config.model))
                self._questions = fast if fast is not None and fast.dim == self.kb.manifest.dim else False
            fast = self._questions
        return fast if isinstance(fast, VerifiedQuestionEncoder) else self.embedder

    @property
    def reader(self) -> Reader | None:
        """The span reader (loaded once per process), or None: answers then come from the sentence
        composer (`Config(reader=False)`, `CITEQA_READER=0`, or weights missing or damaged)."""
        return load_reader() if self.config.reader else None

    def warm_up(self, *, answers: bool = True) -> None:
        """Load what the first question would otherwise wait for: the model and its ONNX question
        encoder, the indexes, and (for `answers`) the span reader."""
        self.search("warm up", top_k=1)
        if answers:
            _ = self.reader

    # ---------------------------------------------------------------- writes

    def add(
        self, sources: Iterable[object], *, progress: bool = True, fetch: FetchSettings | None = None
    ) -> IngestReport:
        """Add or update articles from files, folders, feeds, http(s) URLs (fetched with `fetch`'s
        time limit and size cap), `Article`s or dict records. Idempotent. `Skipped` items pass
        through to the report (a caller that read the sources itself keeps their reasons)."""
        articles, skipped = collect(sources, fetch=fetch)
        indexer = Indexer(self.kb, lambda: self.embedder, self.config.chunk, self.config.commit_every)
        return indexer.add(articles, skipped, progress=progress)

    def remove(self, *article_ids: str) -> list[str]:
        """Remove articles by id from every index; returns those that existed."""
        known = self.kb.article_hashes()
        missing = [a for a in article_ids if a not in known]
        if missing:
            raise InputError(f"no article with id {', '.join(map(repr, missing))}; see `citeqa list`")
        self.kb.write([], removes=list(article_ids))
        return list(article_ids)

    # ---------------------------------------------------------------- reads

    def search(self, question: str, top_k: int | None = None, *, scope: Scope | None = None) -> list[Hit]:
        return [c.hit for c in self.candidates(question, top_k, scope=scope)[1]]

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        *,
        query: str | None = None,
        prefer: Collection[str] = (),
        as_of: object = None,
        articles: object = (),
        sources: object = (),
        since: object = None,
        until: object = None,
        llm: bool | None = None,
        history: Sequence[tuple[str, str]] = (),
        on_text: OnText | None = None,
        read_as: str | None = None,
    ) -> Answer:
        """Answer from the articles, every sentence cited; abstains when they don't say. `query` is
        what to search for when it differs from the question, `prefer` article ids whose passages
        win close calls (a chat follow-up prefers the articles its conversation cited), `read_as`
        the question as the reader reads it when it differs (a follow-up's pronoun resolved); the
        answer keeps `question`.

        Language-model mode (llm.py; on when `config.llm_url` is set, `llm=False` turns it off for
        this question): the answer is written by the model and checked sentence by sentence;
        `history` is the conversation so far as (question, answer) pairs, `on_text` receives the
        reply as it streams in. Should the model fail, the extractive answer comes with a `notice`.

        Scope (scope.py; applied inside retrieval): `as_of` (a date or "2024-03-05": later
        articles are invisible, and "this week", "yesterday", "latest" in the question are read
        against it; default today, or the newest article's day when that is over a month old),
        `articles` (ids), `sources` (names), `since`/`until` (days, inclusive)."""
        t0 = time.perf_counter()
        q = check_question(question, self.config.max_question_chars)
        retrieval_text = check_question(query, self.config.max_question_chars * 4) if query else q
        scope = Scope.of(articles=articles, sources=sources, since=since, until=until, as_of=as_of)
        when = read_time(q, scope.as_of, self.kb.newest_published)
        qvec, candidates = self.candidates(retrieval_text, top_k, prefer, scope=scope, when=when)
        t1 = time.perf_counter()
        meta = {}
        for aid in {c.hit.passage.article_id for c in candidates}:
            art = self.kb.get_article(aid)
            if art is not None:
                meta[aid] = ArticleMeta(art.title, art.source, art.published, art.text)

        def extractive() -> Answer:
            return compose(
                q,
                qvec,
                candidates,
                meta,
                self.composer,
                query=retrieval_text,
                reader=self.reader,
                when=when,
                read_as=check_question(read_as, self.config.max_question_chars * 4) if read_as else "",
            )

        if uses_llm(self.config, llm):
            hits = [c.hit for c in candidates]
            note = when.note if when is not None else ""
            answer = write_with(
                self.config, q, hits, meta, extractive, history, on_text, retrieval_text, note
            )
        else:
            answer = extractive()
        t2 = time.perf_counter()
        answer.timings_ms.update(retrieve=(t1 - t0) * 1e3, compose=(t2 - t1) * 1e3, total=(t2 - t0) * 1e3)
        return answer

    def candidates(
        self,
        text: str,
        top_k: int | None = None,
        prefer: Collection[str] = (),
        *,
        scope: Scope | None = None,
        when: QuestionTime | None = None,
    ) -> tuple[np.ndarray, list[Candidate]]:
        """(question vector, the top_k retrieved candidates with their sentence vectors): what
        `ask` composes an answer from; benchmarks fit and measure answers on it. `scope` filters
        inside retrieval; `when` (a question's time, timewords.read_time) makes passages of
        articles inside its window win close calls, as `prefer` does for those articles."""
        k = self._check_top_k(top_k)
        text = check_question(text, self.config.max_question_chars * 4)
        qvec = self.question_encoder.encode_queries([text])[0]
        allowed = self.kb.vids_in(scope) if scope is not None else None
        dated = when is not None and when.window is not None and when.window.start is not None
        if not prefer and not dated:
            return qvec, self.retriever.retrieve(Query(text, qvec), k, self.config.candidates, allowed)
        pool = self.retriever.retrieve(
            Query(text, qvec), max(k, self.config.candidates), self.config.candidates, allowed
        )
        published = self.kb.published(sorted({c.hit.passage.article_id for c in pool})) if dated else {}

        def bonus(c: Candidate) -> float:
            aid = c.hit.passage.article_id
            in_window = when is not None and when.in_window(published.get(aid, ""))
            return (PREFER_BOOST if aid in prefer else 0.0) + (WINDOW_BOOST if in_window else 0.0)

        return qvec, boost(pool, bonus, k)

    def _check_top_k(self, top_k: int | None) -> int:
        if top_k is None:
            return self.config.top_k
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 100:
            raise InputError(f"top_k must be a whole number from 1 to 100, got {top_k!r}")
        return top_k

    def chat(self) -> ChatSession:
        """A new conversation; follow-up questions use its history."""
        return ChatSession(self)

    def articles(self) -> list[ArticleInfo]:
        return self.kb.list_articles()

    def article(self, article_id: str) -> Article:
        art = self.kb.get_article(article_id)
        if art is None:
            raise InputError(f"no article with id {article_id!r}; see `citeqa list`")
        return art

    def counts(self) -> dict[str, int]:
        """How much the knowledge base holds: {"articles": n, "passages": n}."""
        return self.kb.counts()

    @property
    def path(self) -> Path:
        """The knowledge base's folder."""
        return Path(self.kb.path)

    def verify(self) -> list[str]:
        return self.kb.verify()

    def close(self) -> None:
        self.kb.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def evaluate(self, dataset: object, **kwargs: object) -> EvalReport:
        """Score a question set (a `Dataset` or a path) on this knowledge base; see `citeqa.evaluate`."""
        from citeqa.evaluate.runner import evaluate

        return evaluate(self, dataset, **kwargs)  # type: ignore[arg-type]


def _built_with(kb: KnowledgeBase) -> Config:
    """The settings the knowledge base was created with (its manifest keeps them), else the
    defaults; settings this version no longer understands are ignored with a warning."""
    if not kb.manifest.settings:
        return Config()
    try:
        return Config.from_dict(kb.manifest.settings)
    except ConfigError as exc:
        log.warning("ignoring the settings stored in %s (%s); using the defaults", kb.path, exc)
        return Config()
