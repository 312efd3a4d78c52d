"""report.html pieces: the inline SVG charts escape their text and cope with no data."""

from __future__ import annotations

from citeqa.evaluate.svg import histogram, line_chart


def test_line_chart_draws_each_series_and_escapes_names():
    svg = line_chart({"a<b>": [(1, 0.5), (2, 0.75)], "empty": []}, x_label="k", y_label="recall",
                     title="t & u", x_range=(1, 20))
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
