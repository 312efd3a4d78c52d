"""SIGKILL an ingest subprocess at 20 random moments (bench/crash_ingest.py has the full run and the
README table): each time the knowledge base opens, verifies and holds the old articles, the new ones,
or the whole batches committed before the kill (never a mix inside one article); running the ingest
again completes it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bench.crash_ingest import Trial, table, trial


def test_sigkill_at_twenty_random_moments_loses_nothing(tmp_path):
    seeds = range(100, 120)
    # Four at a time: each child spends most of its life importing, so this is mostly waiting.
    with ThreadPoolExecutor(4) as pool:
        trials: list[Trial] = list(
            pool.map(lambda s: trial(tmp_path / f"kb{s}", s, sizes=(5, 40, 150)), seeds)
        )
    print("\n" + table(trials))
    assert [t for t in trials if t.lost] == []
    assert all(t.state in ("old", "partial", "new") for t in trials)
    assert any(t.state == "partial" for t in trials)  # batches were committed, and kept, before the kill
    # the kills did land in the interesting places, not only before or after the write
    assert sum(t.phase == "during-write" for t in trials) >= 5
    assert len({t.n for t in trials}) >= 3
