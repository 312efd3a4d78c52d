"""app/demo.py: the demo's example questions are data (app/demo.json), read and checked by one function."""

from __future__ import annotations

import pytest

from citeqa.errors import ConfigError
from citeqa_app.demo import DEMO_FILE, Demo, load_demo
from tests.conftest import SEED


def test_the_shipped_demo_asks_about_the_seed_article():
    demo = load_demo()
    assert demo.article == SEED.stem == "heydar-aliyev-2023-drills"
    assert demo.examples[0] == "Where will the Heydar Aliyev-2023 drills be held?"
    assert len(demo.examples) == 4 and all(q.endswith("?") for q in demo.examples)
    assert demo == load_demo(DEMO_FILE)


def test_examples_are_offered_only_while_the_demo_article_is_in_the_library():
    demo = Demo("a1", ("Where?", "When?"))
    assert demo.examples_for({"a1", "b2"}) == ["Where?", "When?"]
    assert demo.examples_for({"b2"}) == [] and demo.examples_for(()) == []


def test_the_page_offers_the_demo_questions_over_the_seed_library(seed_qa, tmp_path):
    from citeqa_app.handlers import ChatPage

    assert ChatPage(seed_qa, uploads=tmp_path).examples() == list(load_demo().examples)
    assert ChatPage(seed_qa, uploads=tmp_path, examples=["Mine?"]).examples() == ["Mine?"]


@pytest.mark.parametrize(
    "text, says",
    [
        ("{not json", "can't read the demo file"),
        ('["a", "b"]', "exactly 'article' and 'examples'"),
        ('{"article": "a1"}', "exactly 'article' and 'examples'"),
        ('{"article": "a1", "examples": [], "extra": 1}', "exactly 'article' and 'examples'"),
        ('{"article": "a1", "examples": "Where?"}', "must be a list of questions"),
        ('{"article": "a1", "examples": ["Where?", 3]}', "examples must be questions"),
        ('{"article": "a1", "examples": ["Where?", "  "]}', "examples must be questions"),
        ('{"article": 7, "examples": ["Where?"]}', "article must be an article id"),
        ('{"article": "", "examples": ["Where?"]}', "article must be an article id"),
    ],
)
def test_a_malformed_demo_file_is_refused_with_its_name_and_what_is_wrong(tmp_path, text, says):
    path = tmp_path / "demo.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=says) as info:
        load_demo(path)
    assert str(path) in str(info.value)


def test_a_missing_demo_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.json"):
        load_demo(tmp_path / "nope.json")
