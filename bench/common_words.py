"""The list of common words the verifier uses to tell a name from a word that merely starts a
sentence (citeqa.verify: "Putin said ..." holds a name, "Officials said ..." doesn't).

A word is common when, away from the start of a sentence, it is written in lower case at least
MIN_LOWER times and at least half of the time: names are capitalised wherever they stand, common
words only where a sentence starts. Counted over SQuADShifts' paragraphs (training data: Wikipedia,
Reddit and Amazon reviews, 5,666 paragraphs), never SQuAD dev.

    python -m bench.common_words          # writes src/citeqa/models/common_words.txt
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from bench.common import DATA
from citeqa.chunk import split_sentences

OUT = Path(__file__).resolve().parents[1] / "src" / "citeqa" / "models" / "common_words.txt"
FILES = ("new_wiki_v1.0.json", "reddit_v1.0.json", "amazon_reviews_v1.0.json")
MIN_LOWER = 3
_WORD = re.compile(r"[A-Za-z][a-z]*(?:'[a-z]+)?")


def counts() -> tuple[Counter[str], Counter[str]]:
    """(lower-case occurrences, all occurrences) of each word, first words of sentences left out."""
    lower: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for name in FILES:
        data = json.loads((DATA / "squadshifts" / name).read_text(encoding="utf-8"))["data"]
        for doc in data:
            for p in doc["paragraphs"]:
                text = p["context"]
                for span in split_sentences(text):
                    for w in _WORD.findall(text[span.start : span.end])[1:]:
                        low = w.lower()
                        seen[low] += 1
                        lower[low] += w == low
    return lower, seen


def main() -> None:
    lower, seen = counts()
    common = sorted(w for w, n in lower.items() if n >= MIN_LOWER and n * 2 >= seen[w])
    header = "# common words: python -m bench.common_words (SQuADShifts; see that script)\n"
    OUT.write_text(header + "\n".join(common) + "\n", encoding="utf-8")
    print(f"{len(common):,} common words of {len(seen):,} seen -> {OUT.name} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
