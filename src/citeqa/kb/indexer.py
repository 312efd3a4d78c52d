"""Articles → chunked, embedded passages written to the knowledge base, skipping unchanged ones."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from citeqa.chunk import chunk_text
from citeqa.config import ChunkSettings
from citeqa.embed import EmbeddedPassage, Embedder
from citeqa.ingest import content_hash
from citeqa.kb.records import StoredPassage
from citeqa.kb.store import KnowledgeBase
from citeqa.schema import Article, IngestReport, Passage, Skipped


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

    def __init__(self, kb: KnowledgeBase, embedder: Callable[[], Embedder], settings: ChunkSettings) -> None:
        self.kb = kb
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
        """Embed new and changed articles and write them in one transaction; unchanged ones cost nothing."""
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
        inputs = [x for p in todo for x in p.inputs]
        spans = [s for p in todo for s in p.spans]
        # Counted on the exact model input (title prefix included); the chunker aims for zero.
        truncated = sum(1 for x in inputs if self.embedder.count_tokens(x) + 2 > self.embedder.max_tokens)
        embedded = self._embed(inputs, spans, progress)
        upserts = []
        pos = 0
        for prep in todo:
            upserts.append(
                (prep.article, prep.digest, _stored(prep, embedded[pos : pos + len(prep.passages)]))
            )
            pos += len(prep.passages)
        self.kb.write(upserts)
        return IngestReport(
            added=tuple(added),
            updated=tuple(updated),
            unchanged=tuple(unchanged),
            skipped=tuple(skipped),
            passages=len(inputs),
            truncated=truncated,
            seconds=time.perf_counter() - t0,
        )

    def embedded(self, article: Article) -> list[StoredPassage]:
        """One article chunked and embedded again, without progress output (repair)."""
        prep = self.prepare(article)
        return _stored(prep, self._embed(prep.inputs, prep.spans, False))

    def _embed(
        self, inputs: list[str], spans: list[list[tuple[int, int]]], progress: bool
    ) -> list[EmbeddedPassage]:
        if not inputs:
            return []
        show = progress and len(inputs) >= 64
        if not show:
            return self.embedder.encode_passages(inputs, spans)
        from tqdm.auto import tqdm

        with tqdm(total=len(inputs), desc="Embedding passages", unit="passage", file=sys.stderr) as bar:
            return self.embedder.encode_passages(inputs, spans, progress=bar.update)


def _stored(prep: Prepared, embedded: Sequence[EmbeddedPassage]) -> list[StoredPassage]:
    return [
        StoredPassage(p, e.vector, e.sentence_vectors) for p, e in zip(prep.passages, embedded, strict=True)
    ]
