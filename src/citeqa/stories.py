"""One copy of each story in what retrieval returns. The knowledge base groups near copies of one
story at ingest (the same wire story in several outlets, kb/copies.py); retrieval then shows the
story once, cites its earliest copy and says where else it ran.

Fused candidates are walked best first:
- a passage of an article that has copies is dropped when it is a copy of a passage already kept
  for the same story (nearcopy.same_story on the two passages): the story's other passages stay, as
  they would for an article printed once, so a syndicated story is never worse off than a single one;
- a passage kept from a later copy is replaced by the corresponding passage of an earlier copy (the
  canonical first) when one is among the candidates with the same text (containment of their word
  shingles at least SAME_TEXT), so the answer cites the earliest copy; it keeps the score of the copy
  that ranked (the story's best);
- an update is not a copy: two passages whose figures differ beyond their edges (a toll that rose
  from 12 to 19 in a later run of the same wire text) say different things, so neither replaces the
  other; both stay,
  and the answer prefers the latest account as of the question's day (answer_direct.choose);
- every kept passage of a grouped article names the story's other copies that the question's scope
  lets it see (`also_in`): an article published after `as_of` is not named either, nor an update
  (a member whose figures differ from the cited article's).
The caller fills back to k from deeper candidates, so collapsing copies never shrinks the sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from citeqa import nearcopy
from citeqa.kb import Group, KnowledgeBase
from citeqa.schema import StoryCopy

# Containment of a later copy's passage in an earlier copy's (word 3-shingles) for the earlier one to
# be cited in its place: the same text but for about three words in a hundred (each changed word
# breaks three shingles) or the outlet's boilerplate. A passage whose chunk boundaries moved, or
# that says more than the earlier copy, is kept as it is.
SAME_TEXT = 0.9


@dataclass(frozen=True)
class Pick:
    """A passage to return: `score` is the fused score of the copy that ranked it."""

    vid: int
    score: float
    also_in: tuple[StoryCopy, ...] = ()


def one_copy_per_story(
    kb: KnowledgeBase, fused: Sequence[tuple[int, float]], k: int, allowed: np.ndarray | None = None
) -> list[Pick]:
    """The top k of `fused` ((vid, score), best first), one copy of each story's passages."""
    owner = kb.article_ids([vid for vid, _ in fused])
    groups = kb.groups(sorted(set(owner.values())))
    if not groups:
        return [Pick(vid, score) for vid, score in fused if vid in owner][:k]
    # A story's candidates, best first; only a story with candidates from two copies or more can
    # have a passage to drop or to cite from an earlier copy, so only those passages are read.
    candidates: dict[str, list[int]] = {}
    for vid, _ in fused:
        if owner.get(vid) in groups:
            candidates.setdefault(groups[owner[vid]].canonical, []).append(vid)
    several = [v for vids in candidates.values() if len({owner[x] for x in vids}) > 1 for v in vids]
    texts = kb.passage_texts_of(several)
    bodies = _Bodies(texts)
    visible = _visible(kb, groups.values(), allowed)
    figures = _ArticleFigures(kb)
    kept: dict[str, list[int]] = {}  # canonical → the story's kept passages
    used: set[int] = set()
    out: list[Pick] = []
    for vid, score in fused:
        if len(out) == k:
            break
        aid = owner.get(vid)
        if aid is None or vid in used:  # gone meanwhile, or already cited in a later copy's place
            continue
        group = groups.get(aid)
        if group is None:
            out.append(Pick(vid, score))
            continue
        cite = vid
        if vid in texts:
            story = kept.setdefault(group.canonical, [])
            if any(bodies.same_story(vid, other) and bodies.same_figures(vid, other) for other in story):
                continue
            cite = _earliest_same(vid, group, candidates[group.canonical], owner, bodies, used)
            story.append(vid)
        elif len({owner[x] for x in candidates[group.canonical]}) > 1:
            continue  # its text is gone (removed between the two reads)
        used.update((vid, cite))
        cited = owner[cite]
        copies = tuple(m for m in group.others(cited) if m.article_id in visible)
        out.append(Pick(cite, score, tuple(m for m in copies if figures.same(cited, m.article_id))))
    return out


class _ArticleFigures:
    """Whether one article of a story is an update of another: each gives a figure (in its middle,
    as `_figures` reads them) that the other's whole text lacks, as a later run of the wire text
    with a new toll does. A copy that only drops or adds a paragraph, a dateline or a footer is not.
    An update is not named under 'also in'. Each article is read once."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.made: dict[str, tuple[frozenset[str], frozenset[str]]] = {}

    def of(self, article_id: str) -> tuple[frozenset[str], frozenset[str]]:
        """(the figures of its middle, all its figures)."""
        if article_id not in self.made:
            art = self.kb.get_article(article_id)
            text = art.text if art is not None else ""
            self.made[article_id] = (_figures(text), frozenset(_FIGURE.findall(text)))
        return self.made[article_id]

    def same(self, a: str, b: str) -> bool:
        (core_a, all_a), (core_b, all_b) = self.of(a), self.of(b)
        return not (core_a - all_b and core_b - all_a)


class _Bodies:
    """Passages' shingle sets, made when first compared (most candidates never are)."""

    def __init__(self, texts: dict[int, str]) -> None:
        self.texts = texts
        self.made: dict[int, nearcopy.Body] = {}

    def __call__(self, vid: int) -> nearcopy.Body:
        if vid not in self.made:
            self.made[vid] = nearcopy.body(self.texts[vid])
        return self.made[vid]

    def same_story(self, a: int, b: int) -> bool:
        return nearcopy.same_story(self(a), self(b))

    def same_figures(self, a: int, b: int) -> bool:
        """The same numbers in both passages (an updated figure makes an update, not a copy)."""
        return _figures(self.texts[a]) == _figures(self.texts[b])


def _earliest_same(
    vid: int, group: Group, story: Sequence[int], owner: dict[int, str], bodies: _Bodies, used: set[int]
) -> int:
    """The passage of the earliest copy (canonical first) with the same text as `vid`, among the
    story's candidates; `vid` itself when no earlier copy has one."""
    order = {aid: i for i, aid in enumerate(group.ids)}
    mine = order[owner[vid]]
    best: tuple[int, float, int] | None = None  # (copy's place, -containment, vid)
    for other in story:
        place = order[owner[other]]
        if place >= mine or other in used or other not in bodies.texts:
            continue
        c = nearcopy.containment(bodies(vid).shingles, bodies(other).shingles)
        if c >= SAME_TEXT and bodies.same_figures(vid, other) and (best is None or (place, -c, other) < best):
            best = (place, -c, other)
    return best[2] if best is not None else vid


_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")


def _figures(text: str) -> frozenset[str]:
    """The numbers of a passage's middle: an outlet's dateline or footer ("(Outlet 5) -", "March 5
    (Reuters)") sits at its edges, which near-copy detection trims the same way (nearcopy.body)."""
    w = text.split()
    cut = int(len(w) * nearcopy.DEFAULT.core_trim)
    return frozenset(_FIGURE.findall(" ".join(w[cut : len(w) - cut])))


def _visible(kb: KnowledgeBase, groups: Iterable[Group], allowed: np.ndarray | None) -> set[str]:
    """The members of `groups` a question may see: all of them, or those inside its scope."""
    ids = {m.article_id for g in groups for m in g.members}
    if allowed is None:
        return ids
    firsts = kb.first_vids(sorted(ids))
    inside = np.isin(np.fromiter(firsts.values(), dtype=np.int64, count=len(firsts)), allowed)
    return {aid for aid, ok in zip(firsts, inside) if ok}
