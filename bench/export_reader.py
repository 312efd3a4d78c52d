"""Export a trained reader (bench.train_reader) to the ONNX file that ships in src/citeqa/models/.

    python -m bench.export_reader runs/reader/final                 # int8pc, the shipped format
    python -m bench.export_reader runs/reader/final --format fp32 --out runs/reader/onnx

fp32 is the plain export (about 90 MB: over the 50 MB limit, kept for comparison); fp16 halves it;
int8 is ONNX Runtime's dynamic quantisation of every MatMul and the embedding tables (about 23 MB,
and faster); int8pc the same with one scale per output channel (closer to fp32, as fast).
bench.reader_bench --formats compares them on the calibration questions.
Writes <out>/reader-<format>.onnx and, with --ship, src/citeqa/models/reader.json pointing at it with
its sha256 and the training recipe (the calibration is added by bench.fit_reader).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

from bench.common import REPO

MODELS = REPO / "src" / "citeqa" / "models"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def export_fp32(model_dir: Path, dest: Path) -> None:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from citeqa.embed import resolve_model_path

    model = AutoModelForQuestionAnswering.from_pretrained(model_dir).eval()
    tok = AutoTokenizer.from_pretrained(resolve_model_path("all-MiniLM-L6-v2"))  # the reader's own

    class _Logits(torch.nn.Module):
        def __init__(self, m):  # type: ignore[no-untyped-def]
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            out = self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.start_logits, out.end_logits

    ex = tok(["a question"], ["a passage of text"], return_tensors="pt")
    dynamic = {n: {0: "batch", 1: "tokens"} for n in INPUTS}
    dynamic.update({"start_logits": {0: "batch", 1: "tokens"}, "end_logits": {0: "batch", 1: "tokens"}})
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Logits(model).eval(),
            tuple(ex[n] for n in INPUTS),
            str(dest),
            input_names=list(INPUTS),
            output_names=["start_logits", "end_logits"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )


def optimise(src: Path, dest: Path) -> None:
    """ONNX Runtime's BERT graph fusions (attention, layer norm, GELU): same numbers, fewer ops."""
    from onnxruntime.transformers.optimizer import optimize_model

    opt = optimize_model(str(src), model_type="bert", num_heads=12, hidden_size=384, opt_level=1)
    opt.save_model_to_file(str(dest))


def to_int8(src: Path, dest: Path, per_channel: bool = False, embeddings: bool = True) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(dest),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gather"] if embeddings else ["MatMul"],
        per_channel=per_channel,
        # The fused graph holds contrib ops (Attention, SkipLayerNormalization) that ONNX's shape
        # inference doesn't know: their outputs are float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def to_fp16(src: Path, dest: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(dest))


def export(model_dir: Path, fmt: str, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    dest = out / f"reader-{fmt}.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        raw, fused = Path(tmp) / "raw.onnx", Path(tmp) / "fused.onnx"
        export_fp32(model_dir, raw)
        optimise(raw, fused)
        if fmt == "fp32":
            os.replace(fused, dest)
        elif fmt == "fp16":
            to_fp16(fused, dest)
        else:  # int8pc: one scale per output channel of each weight matrix instead of one per matrix
            to_int8(fused, dest, per_channel=fmt == "int8pc")
    return dest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="a folder written by bench.train_reader (final/ or ckpt/)")
    ap.add_argument("--format", choices=["int8", "int8pc", "fp16", "fp32"], default="int8pc", help="format")
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "reader" / "onnx", help="output folder")
    ap.add_argument("--ship", action="store_true", help="copy into src/citeqa/models and write reader.json")
    ap.add_argument("--previous", type=Path, help="recipe.json of the phase it started from")
    ap.add_argument("--train-command", default="python -m bench.train_reader", help="its training")
    args = ap.parse_args()
    dest = export(args.model, args.format, args.out)
    mb = dest.stat().st_size / 1e6
    print(f"{dest}: {mb:.1f} MB, sha256 {sha256(dest)}")
    if args.ship:
        if mb > 50:
            raise SystemExit(f"{dest.name} is {mb:.1f} MB: over the 50 MB limit for shipped weights")
        MODELS.mkdir(exist_ok=True)
        shipped = MODELS / "reader.onnx"
        shipped.write_bytes(dest.read_bytes())
        recipe_file = args.model / "recipe.json"
        recipe = json.loads(recipe_file.read_text()) if recipe_file.exists() else {}
        if args.previous:
            recipe["previous_phase"] = json.loads(args.previous.read_text())
        manifest = MODELS / "reader.json"
        old = json.loads(manifest.read_text()) if manifest.exists() else {}
        meta = {
            "file": shipped.name,
            "sha256": sha256(shipped),
            "format": args.format,
            "tokenizer": "all-MiniLM-L6-v2",
            "settings": {"max_len": 256, "stride": 128, "max_question": 64, "max_answer": 30},
            "recipe": recipe,
            "reproduce": f"{args.train_command} && python -m bench.export_reader {args.model} "
            f"--format {args.format} --ship && python -m bench.fit_reader",
            "calibration": old.get("calibration", {}),
        }
        manifest.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote {shipped} and {manifest}")


if __name__ == "__main__":
    main()
