"""Near copies of one story (the same wire story in several outlets): pure functions of the text.

A story syndicated to several outlets comes back with a new headline, a trimmed ending, the outlet's
boilerplate ("WASHINGTON (Reuters) -", "Follow us on ...") and a few words changed. Its body's word
shingles (every run of `k` consecutive words, lower-cased) still mostly coincide, while two stories
on the same topic share few: bench/syndication.py measures both and chose the numbers below.

- `shingles(text)`: the set of word k-grams of an article's body (the headline is not part of it:
  a new headline is the most common edit).
- `signature(sh)`: a MinHash of that set, whose agreement between two articles estimates their
  Jaccard similarity. It is datasketch's MinHash, scheme "affine32" (SHA-1's first 32 bits of each
  shingle, pre-mixed with the MurmurHash3 finalizer, then `a * h + b mod 2**32` per permutation with
  seeded odd `a`), written out here in numpy: the same values bit for bit (tests/test_nearcopy.py
  checks them against datasketch), without importing datasketch, which costs 0.7 s (it imports
  scipy for its LSH module) in every process that ingests; and the stored signatures stay
  comparable whatever a library upgrade changes (datasketch 2.0 changed its default scheme).
- `band_keys(sig)`: locality-sensitive hashing. The signature is cut into `bands` bands of `rows`
  values; two articles sharing any band's key become candidates. Kept in the store (kb/copies.py)
  as indexed integers, so a new article finds its candidates with one SQL lookup at any size.
- `same_story(a, b)`: the confirmation of a candidate pair on the exact shingle sets (`body(text)`):
  containment |A ∩ B| / min(|A|, |B|) at least `threshold` (a trimmed copy is nearly a subset of the
  full one, which Jaccard would punish); the same share of the shorter body's middle (its words but
  the first and last `core_trim` of them) found in the longer one, because an outlet's boilerplate
  (a dateline, a copyright footer) sits at the edges: two short stories from one outlet share it,
  copies share the middle; and the smaller set at least `min_ratio` of the larger one (so a short
  article quoted whole inside a long one is not its copy).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Params:
    """How copies are detected. Kept beside the stored signatures (kb/copies.py): signatures made
    with other parameters are not comparable, so a change means they are all computed again."""

    k: int = 3  #: words per shingle
    num_perm: int = 64  #: MinHash permutations (bands * rows of them are used)
    bands: int = 32  #: LSH bands ...
    rows: int = 2  #: ... of this many MinHash values each
    threshold: float = 0.375  #: containment of the smaller shingle set in the larger, to confirm
    core_trim: float = 0.2  #: share of words left out at each end of a body for its middle
    min_ratio: float = 0.2  #: the smaller set's size over the larger's, to confirm
    min_shingles: int = 8  #: an article with fewer shingles (a caption, a stub) is never grouped
    seed: int = 1  #: MinHash seed
    scheme: str = "affine32"  #: datasketch's name for the hashing below

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands * rows ({self.bands * self.rows}) exceeds num_perm ({self.num_perm})")
        if self.k < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("k, bands and rows must be at least 1")
        if not 0 <= self.core_trim < 0.5:
            raise ValueError(f"core_trim must be at least 0 and below 0.5, got {self.core_trim}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


DEFAULT = Params()


def words(text: str) -> list[str]:
    """The article's words, case-folded, punctuation dropped ("U.S." → "u", "s")."""
    return _WORD.findall(text.casefold())


def shingles(text: str, k: int = DEFAULT.k) -> frozenset[str]:
    """The set of word k-grams; a text shorter than k words is one shingle (empty text: none)."""
    return _grams(words(text), k)


def _grams(w: list[str], k: int) -> frozenset[str]:
    if len(w) < k:
        return frozenset([" ".join(w)]) if w else frozenset()
    return frozenset(" ".join(w[i : i + k]) for i in range(len(w) - k + 1))


@dataclass(frozen=True)
class Body:
    """What confirmation compares: every shingle of a body, and those of its middle (`core`)."""

    shingles: frozenset[str]
    core: frozenset[str]


def body(text: str, params: Params = DEFAULT) -> Body:
    w = words(text)
    sh = _grams(w, params.k)
    cut = int(len(w) * params.core_trim)
    return Body(sh, _grams(w[cut : len(w) - cut], params.k) if cut else sh)


# MurmurHash3's 32-bit finalizer: shifts and multipliers (datasketch's _FMIX_CONSTANTS[32]).
_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
_EMPTY = np.uint32(0xFFFFFFFF)
_BLOCK = 4096  # shingles hashed against every permutation at once (memory: BLOCK x num_perm x 4 B)


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations `a * h + b mod 2**32` (`a` odd: a bijection), drawn as datasketch does."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def signature(sh: Iterable[str], params: Params = DEFAULT) -> np.ndarray:
    """The MinHash of a shingle set: `num_perm` uint32 values (all 2**32-1 for an empty set)."""
    items = list(sh)
    out = np.full(params.num_perm, _EMPTY, dtype=np.uint32)
    if not items:
        return out
    h = np.fromiter(
        (int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:4], "little") for s in items),
        dtype=np.uint32,
        count=len(items),
    )
    s1, m1, s2, m2, s3 = _FMIX
    h ^= h >> s1
    h *= m1
    h ^= h >> s2
    h *= m2
    h ^= h >> s3
    a, b = _permutations(params.num_perm, params.seed)
    for i in range(0, len(h), _BLOCK):  # uint32 arithmetic wraps: that is the mod 2**32
        np.minimum(out, (h[i : i + _BLOCK, None] * a + b).min(axis=0), out=out)
    return out


def band_keys(sig: np.ndarray, params: Params = DEFAULT) -> list[int]:
    """One signed 64-bit key per band (SQLite's INTEGER): the band's number and values, hashed."""
    values = np.ascontiguousarray(sig[: params.bands * params.rows], dtype="<u4")
    out = []
    for b in range(params.bands):
        chunk = values[b * params.rows : (b + 1) * params.rows].tobytes()
        digest = hashlib.blake2b(b.to_bytes(2, "little") + chunk, digest_size=8).digest()
        out.append(int.from_bytes(digest, "little", signed=True))
    return out


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """The share of MinHash values two signatures agree on: an estimate of their Jaccard similarity."""
    return float(np.mean(a == b)) if len(a) else 0.0


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """|A ∩ B| / min(|A|, |B|): 1.0 when the smaller is inside the larger (a trimmed copy)."""
    small = min(len(a), len(b))
    return len(a & b) / small if small else 0.0


def same_story(a: Body, b: Body, params: Params = DEFAULT) -> bool:
    """Are two bodies copies of one story? See the module's docstring for the rule."""
    small, large = sorted((len(a.shingles), len(b.shingles)))
    if small < params.min_shingles or small < params.min_ratio * large:
        return False
    if containment(a.shingles, b.shingles) < params.threshold:
        return False
    # The middle of the shorter body (either, when they are as long) inside the other one.
    pairs = (
        [(a, b), (b, a)]
        if len(a.shingles) == len(b.shingles)
        else [(a, b) if len(a.shingles) < large else (b, a)]
    )
    return any(x.core and len(x.core & y.shingles) >= params.threshold * len(x.core) for x, y in pairs)
