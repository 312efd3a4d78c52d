"""report.html pieces: the inline SVG charts escape their text and cope with no data."""

from __future__ import annotations

from citeqa.evaluate.svg import histogram, line_chart


def test_line_chart_draws_each_series_and_escapes_names():
    svg = line_chart(
        {"a<b>": [(1, 0.5), (2, 0.75)], "empty": []},
        x_label="k",
        y_label="recall",
        title="t & u",
        x_range=(1, 20),
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 2
    assert "a&lt;b&gt;" in svg and "t &amp; u" in svg and "<b>" not in svg


def test_histogram_counts_every_value():
    svg = histogram([1.0, 2.0, 2.5, 100.0], x_label="ms", title="latency", bins=10)
    assert svg.count("<rect") == 2  # bins 0 (three values) and 9 (one)
    assert ": 3</title>" in svg and ": 1</title>" in svg


def test_no_data_gives_a_note_not_an_error():
    assert "no data" in line_chart({}, x_label="x", y_label="y", title="t")
    assert "no data" in histogram([], x_label="x", title="t")


def tiny_report():
    from citeqa.evaluate.results import EvalReport, QuestionResult, Retrieved

    row = QuestionResult(
        id="q<1>",
        question="Where & when <script>?",
        answerable=True,
        answers=("Kars",),
        relevant_article_ids=("a",),
        relevant_passage_ids=(),
        docs=(Retrieved(1, "b", "b", 0.5, False), Retrieved(2, "a", "a", 0.4, True)),
        passages=(Retrieved(1, "b#0", "b", 0.5, None, 0, 9),),
        first_relevant_rank=2,
        metrics={"ndcg@10": 0.63093, "recall@1": 0.0},
        timings_ms={"search": 3.0, "latency": 3.0},
        passage_texts=("</div><b>not bold</b>",),
    )
    return EvalReport(
        metrics={"n_questions": 1.0, "ndcg@10": 0.63093, "recall@1": 0.0},
        ci={},
        info={"dataset": "t<i>"},
        results=(row,),
        recall_curve={"document": [(1, 0.0), (2, 1.0)]},
        coverage_curve=[],
        gold_texts={"q<1>": "Kars & <more>"},
    )


def test_write_makes_three_files_with_escaped_text(tmp_path):
    import json

    out = tiny_report().write(tmp_path / "run")
    assert json.loads((out / "metrics.json").read_text())["dataset"] == "t<i>"
    row = json.loads((out / "results.jsonl").read_text())
    assert row["articles"][1] == {"rank": 2, "article_id": "a", "score": 0.4, "relevant": True}
    assert row["passages"][0]["passage_id"] == "b#0" and "passage_texts" not in row
    html = (out / "report.html").read_text()
    for raw in ("<script>", "<b>not bold</b>", "<more>", "<i>"):
        assert raw not in html
    assert "Where &amp; when &lt;script&gt;?" in html and "&lt;/div&gt;&lt;b&gt;not bold" in html


def test_write_to_a_file_is_a_clear_error(tmp_path):
    import pytest

    from citeqa.errors import InputError

    (tmp_path / "taken").write_text("x")
    with pytest.raises(InputError, match="--out"):
        tiny_report().write(tmp_path / "taken")
