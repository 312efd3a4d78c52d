"""nearcopy.py: shingles and measures by hand, signatures equal to datasketch's, and the detector on
a story as three outlets ran it versus other stories on the same topic."""

from __future__ import annotations

import random

import numpy as np
import pytest

from citeqa import nearcopy
from citeqa.nearcopy import Params
from tests.syndicated_story import OTHER_SAME_TOPIC, OTHER_TOPIC, REUTERS, TRIMMED, WIRE


def test_shingles_by_hand():
    assert nearcopy.words("The U.S. ferry, the FERRY!") == ["the", "u", "s", "ferry", "the", "ferry"]
    assert nearcopy.shingles("A b, C d", k=3) == frozenset({"a b c", "b c d"})
    assert nearcopy.shingles("Two words", k=3) == frozenset({"two words"})  # shorter than k: one
    assert nearcopy.shingles(" ... ", k=3) == frozenset()


def test_measures_by_hand():
    a, b = frozenset("abcd"), frozenset("abx")
    assert nearcopy.jaccard(a, b) == pytest.approx(2 / 5)
    assert nearcopy.containment(a, b) == pytest.approx(2 / 3)  # of the smaller set
    assert nearcopy.containment(a, frozenset()) == 0.0 and nearcopy.jaccard(frozenset(), frozenset()) == 0.0
    sig = nearcopy.signature(frozenset({"x y z"}))
    assert nearcopy.estimated_jaccard(sig, sig) == 1.0


@pytest.mark.parametrize("num_perm,seed", [(64, 1), (128, 7)])
def test_signatures_are_datasketchs_minhash_bit_for_bit(num_perm, seed):
    datasketch = pytest.importorskip("datasketch")
    rng = random.Random(seed)
    params = Params(num_perm=num_perm, seed=seed, bands=1, rows=1)
    for _ in range(20):
        text = " ".join(f"w{rng.randint(0, 400)}" for _ in range(rng.randint(0, 6000)))  # > one block
        sh = nearcopy.shingles(text)
        m = datasketch.MinHash(num_perm=num_perm, seed=seed, scheme="affine32")
        m.update_batch([s.encode("utf-8") for s in sh])
        assert np.array_equal(nearcopy.signature(sh, params), m.hashvalues)


def test_band_keys_are_stable_signed_64_bit_integers():
    sig = nearcopy.signature(nearcopy.shingles(WIRE))
    keys = nearcopy.band_keys(sig)
    assert len(keys) == nearcopy.DEFAULT.bands and len(set(keys)) == len(keys)
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert keys == nearcopy.band_keys(sig.copy())  # a function of the values alone
    other = sig.copy()
    other[0] ^= 1  # one value changed: only the first band's key moves
    moved = [a != b for a, b in zip(keys, nearcopy.band_keys(other))]
    assert moved[0] and not any(moved[1:])


def _detected(a: str, b: str) -> bool:
    """The whole detector on a pair: an LSH candidate (a shared band key), confirmed."""
    sa, sb = nearcopy.body(a), nearcopy.body(b)
    keys = [set(nearcopy.band_keys(nearcopy.signature(x.shingles))) for x in (sa, sb)]
    return bool(keys[0] & keys[1]) and nearcopy.same_story(sa, sb)


@pytest.mark.parametrize(
    "copy",
    [
        WIRE,  # the same body under a different headline (the headline is not part of the body)
        REUTERS,  # dateline, a few words changed, footer
        TRIMMED,  # the ending cut
        "WASHINGTON (AP) — " + WIRE + "\n\nCopyright 2024 The Associated Press. All rights reserved.",
        WIRE.replace("Tuesday", "Wednesday").replace("120", "125").replace("millions", "tens of millions"),
    ],
    ids=["new-headline", "outlet-edits", "trimmed", "boilerplate", "words-changed"],
)
def test_copies_with_edits_are_the_same_story(copy):
    assert _detected(WIRE, copy) and _detected(copy, WIRE)


@pytest.mark.parametrize("other", [OTHER_SAME_TOPIC, OTHER_TOPIC], ids=["same-topic", "other-topic"])
def test_different_stories_are_not(other):
    assert not nearcopy.same_story(nearcopy.body(WIRE), nearcopy.body(other))
    assert not _detected(WIRE, other) and not _detected(REUTERS, other)


SHORT_A = WIRE.split("\n\n")[0]  # 26 words
SHORT_B = OTHER_SAME_TOPIC.split("\n\n")[0]  # 28 words
FOOTER = (
    "\n\nCopyright 2024 The Herald. All rights reserved. This material may not be published, broadcast, "
    "rewritten or redistributed. Follow us on Twitter @herald."
)


@pytest.mark.parametrize("a,b", [(WIRE, OTHER_SAME_TOPIC), (SHORT_A, SHORT_B)], ids=["long", "short"])
def test_one_outlets_boilerplate_does_not_make_two_stories_one(a, b):
    a, b = "BAKU, March 5 (Herald) - " + a + FOOTER, "BAKU, March 5 (Herald) - " + b + FOOTER
    assert not _detected(a, b)
    if len(a) < 400:  # short bodies: the boilerplate is half of them (containment 0.43); middles differ
        whole = nearcopy.Params(core_trim=0.0)
        assert nearcopy.same_story(nearcopy.body(a, whole), nearcopy.body(b, whole), whole)


def test_copies_of_short_stories_with_boilerplate_are_still_found():
    assert _detected(SHORT_A, "BAKU, March 5 (Herald) - " + SHORT_A + FOOTER)
    assert _detected(SHORT_A + FOOTER, SHORT_A.replace("Tuesday", "Wednesday"))


def test_a_short_article_quoted_whole_in_a_long_one_is_not_its_copy():
    quote = WIRE.split("\n\n")[1]  # one paragraph, contained word for word
    assert nearcopy.containment(nearcopy.shingles(quote), nearcopy.shingles(WIRE)) == 1.0
    assert not nearcopy.same_story(nearcopy.body(quote), nearcopy.body(WIRE))  # min_ratio
    assert not nearcopy.same_story(nearcopy.body("a b c"), nearcopy.body("a b c"))  # too short to tell


def test_bad_params_are_refused():
    with pytest.raises(ValueError, match="exceeds num_perm"):
        Params(num_perm=16, bands=8, rows=4)
    with pytest.raises(ValueError, match="at least 1"):
        Params(k=0)
    with pytest.raises(ValueError, match="core_trim"):
        Params(core_trim=0.5)
