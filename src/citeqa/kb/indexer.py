"""Articles → chunked, embedded passages written to the knowledge base, skipping unchanged ones."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from citeqa.chunk import chunk_text
from citeqa.config import ChunkSettings
from citeqa.embed import EmbeddedPassage, Embedder
from citeqa.errors import IngestInterrupted
from citeqa.ingest import content_hash
from citeqa.kb.records import StoredPassage
from citeqa.kb.store import KnowledgeBase
from citeqa.schema import Article, IngestReport, Passage, Skipped
from citeqa.text import plural

# Passages embedded between commits (Config.commit_every): about 10 s of embedding on 2 cores, so an
# interrupt loses at most that, while a commit (one SQLite transaction) stays a small share of the time.
BATCH_PASSAGES = 512


@dataclass(frozen=True)
class Prepared:
    """An article cut into passages, with the exact strings the model will read."""

    article: Article
    digest: str
    passages: list[Passage]
    inputs: list[str]  # title prefix + passage text
    spans: list[list[tuple[int, int]]]  # sentence spans relative to each input


class Indexer:
    """Chunks with the knowledge base's own settings and embeds with its own model."""

    def __init__(
        self,
        kb: KnowledgeBase,
        embedder: Callable[[], Embedder],
        settings: ChunkSettings,
        batch_passages: int = BATCH_PASSAGES,
    ) -> None:
        self.kb = kb
        self.batch_passages = batch_passages
        self._get_embedder = embedder  # called only when something must be embedded
        self.settings = settings

    @property
    def embedder(self) -> Embedder:
        return self._get_embedder()

    def prepare(self, article: Article) -> Prepared:
        title = self.embedder.truncate(article.title.strip(), self.settings.title_tokens)
        prefix = f"{title}\n" if title else ""
        # Room left for the body: the model's window minus [CLS]/[SEP] and the title prefix.
        room = self.embedder.max_tokens - 2 - (self.embedder.count_tokens(prefix) if prefix else 0)
        cfg = replace(self.settings, max_tokens=max(8, min(self.settings.max_tokens, room)))
        passages = chunk_text(article.id, article.text, self.embedder.count_tokens, cfg)
        inputs = [prefix + p.text for p in passages]
        shift = len(prefix)
        spans = [
            [(s.start - p.start + shift, s.end - p.start + shift) for s in p.sentences] for p in passages
        ]
        return Prepared(article, content_hash(article), passages, inputs, spans)

    def add(
        self,
        articles: Sequence[Article],
        skipped: Sequence[Skipped] = (),
        *,
        progress: bool = True,
    ) -> IngestReport:
        """Embed new and changed articles and write them, whole articles in batches of about
        `batch_passages` passages, one transaction each; unchanged ones cost nothing. An interrupt
        (Ctrl-C) raises IngestInterrupted with what was kept."""
        t0 = time.perf_counter()
        known = self.kb.article_hashes()
        todo: list[Prepared] = []
        added, updated, unchanged = [], [], []
        for article in articles:
            digest = content_hash(article)
            if known.get(article.id) == digest:
                unchanged.append(article.id)
                continue
            (updated if article.id in known else added).append(article.id)
            todo.append(self.prepare(article))
        if not todo:
            return IngestReport(
                unchanged=tuple(unchanged), skipped=tuple(skipped), seconds=time.perf_counter() - t0
            )
        n_inputs = sum(len(p.inputs) for p in todo)
        # Counted on the exact model input (title prefix included); the chunker aims for zero.
        truncated = sum(
            1 for p in todo for x in p.inputs if self.embedder.count_tokens(x) + 2 > self.embedder.max_tokens
        )
        done: list[Prepared] = []

        def report(articles_done: Sequence[Prepared]) -> IngestReport:
            ids = {p.article.id for p in articles_done}
            return IngestReport(
                added=tuple(a for a in added if a in ids),
                updated=tuple(a for a in updated if a in ids),
                unchanged=tuple(unchanged),
                skipped=tuple(skipped),
                passages=sum(len(p.passages) for p in articles_done),
                truncated=truncated,
                seconds=time.perf_counter() - t0,
            )

        bar = _progress_bar(n_inputs) if progress and n_inputs >= 64 else None
        try:
            batches = list(article_batches(todo, self.batch_passages))
            for k, batch in enumerate(batches, start=1):
                inputs = [x for p in batch for x in p.inputs]
                spans = [s for p in batch for s in p.spans]
                embedded = self.embedder.encode_passages(inputs, spans, progress=bar.update if bar else None)
                upserts = []
                pos = 0
                for prep in batch:
                    upserts.append(
                        (prep.article, prep.digest, _stored(prep, embedded[pos : pos + len(prep.passages)]))
                    )
                    pos += len(prep.passages)
                # One transaction per batch: an interrupt keeps every batch before it. The derived
                # index files are written once, after the last batch (a reader that opens the knowledge
                # base in between rebuilds them from the store, as after any crash).
                self.kb.write(upserts, refresh_caches=k == len(batches))
                done += batch
        except KeyboardInterrupt:
            kept = report(done)
            raise IngestInterrupted(
                kept,
                f"kept {plural(len(done), 'article')} of {len(todo)} ({plural(kept.passages, 'passage')}, "
                "committed); run the same ingest again to continue with the rest",
            ) from None
        finally:
            if bar is not None:
                bar.close()
        return report(done)

    def embedded(self, article: Article) -> list[StoredPassage]:
        """One article chunked and embedded again, without progress output (repair)."""
        prep = self.prepare(article)
        return _stored(prep, self.embedder.encode_passages(prep.inputs, prep.spans))


def _stored(prep: Prepared, embedded: Sequence[EmbeddedPassage]) -> list[StoredPassage]:
    return [
        StoredPassage(p, e.vector, e.sentence_vectors) for p, e in zip(prep.passages, embedded, strict=True)
    ]


def article_batches(todo: Sequence[Prepared], size: int) -> Iterator[list[Prepared]]:
    """Whole articles, about `size` passages a batch (an article larger than that is a batch alone)."""
    batch: list[Prepared] = []
    n = 0
    for prep in todo:
        if batch and n + len(prep.passages) > size:
            yield batch
            batch, n = [], 0
        batch.append(prep)
        n += len(prep.passages)
    if batch:
        yield batch


def _progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm

    # disable=None: no bar when stderr is not a terminal (a log or a pipe would get a line per update)
    return tqdm(total=total, desc="Embedding passages", unit="passage", file=sys.stderr, disable=None)
