"""Records' reads for questions with a scope or a date (issue 14): which passages a scope lets a
question see, and articles' publication days. Part of `Records` (a base class of it, kept in its own
module for size); it uses the store's connection and lock as Records' other reads do."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager

import numpy as np

from citeqa.errors import InputError
from citeqa.scope import Scope

SOURCES_SHOWN = 12  # sources an unknown source's error lists


class ScopedReads:
    _conn: sqlite3.Connection

    def guard(self) -> AbstractContextManager[None]:  # Records' lock and damage check
        raise NotImplementedError

    def vids_in(self, scope: Scope) -> np.ndarray:
        """The vector ids of the passages a scope lets a question see, ascending (scope.py says how
        dates compare: on the article's own calendar day; undated articles are outside a since/until
        range and inside any as_of). An article id or a source the knowledge base doesn't have is
        an InputError (a typo would otherwise read as "the articles don't say")."""
        if ids := self._unknown("id", scope.articles):
            raise InputError(
                f"no article with id {_listed(ids)} in this knowledge base; `citeqa list` shows the ids"
            )
        if sources := self._unknown("source", scope.sources):
            hint = self._sources_hint(sources)
            raise InputError(f"no article from source {_listed(sources)} in this knowledge base; {hint}")
        where, args = [], []
        if scope.articles:
            where.append("a.id IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(list(scope.articles)))
        if scope.sources:
            where.append("a.source IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(list(scope.sources)))
        if scope.since:
            where.append("a.published != '' AND substr(a.published, 1, 10) >= ?")
            args.append(scope.since.isoformat())
        if scope.until:
            where.append("a.published != '' AND substr(a.published, 1, 10) <= ?")
            args.append(scope.until.isoformat())
        if scope.as_of:
            where.append("(a.published = '' OR substr(a.published, 1, 10) <= ?)")
            args.append(scope.as_of.isoformat())
        sql = "SELECT p.vid FROM passages p JOIN articles a ON a.id = p.article_id"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self.guard():
            rows = self._conn.execute(sql + " ORDER BY p.vid", args).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def published(self, article_ids: Sequence[str]) -> dict[str, str]:
        """`published` of the given articles (those that exist)."""
        if not article_ids:
            return {}
        with self.guard():
            rows = self._conn.execute(
                "SELECT id, published FROM articles WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(article_ids)),),
            ).fetchall()
        return dict(rows)

    def newest_published(self) -> str:
        """The latest `published` day of any article ("" when none is dated)."""
        with self.guard():
            row = self._conn.execute(
                "SELECT MAX(substr(published, 1, 10)) FROM articles WHERE published != ''"
            )
            value = row.fetchone()[0]
        return value or ""

    def _unknown(self, column: str, values: Sequence[str]) -> list[str]:
        """The `values` no article has in `column` ("id" or "source")."""
        if not values:
            return []
        sql = f"SELECT DISTINCT {column} FROM articles WHERE {column} IN (SELECT value FROM json_each(?))"
        with self.guard():
            known = {r[0] for r in self._conn.execute(sql, (json.dumps(list(values)),))}
        return [v for v in values if v not in known]

    def _sources_hint(self, missing: Sequence[str]) -> str:
        """The sources there are (names must match exactly), the one meant first when only case differs."""
        with self.guard():
            names = sorted(
                r[0] for r in self._conn.execute("SELECT DISTINCT source FROM articles WHERE source != ''")
            )
        meant = [n for m in missing for n in names if n.casefold() == m.casefold()]
        shown = ", ".join(map(repr, names[:SOURCES_SHOWN])) + (", ..." if len(names) > SOURCES_SHOWN else "")
        lead = f"did you mean {', '.join(map(repr, meant))}? " if meant else ""
        return f"{lead}its sources are {shown}" if names else "no article in it names a source"


def _listed(values: Sequence[str]) -> str:
    return ", ".join(map(repr, values))
