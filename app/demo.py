"""The demo's example questions, kept as data (demo.json, shipped with the page) and read by `load_demo`.

The empty chat offers them as buttons while the library holds the demo article (`make run` ingests
it from data/articles); over any other library they would ask about things it doesn't hold.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from citeqa.errors import ConfigError

DEMO_FILE = Path(__file__).with_name("demo.json")


@dataclass(frozen=True)
class Demo:
    """Example questions about one article."""

    article: str
    """The id of the article the questions are about."""
    examples: tuple[str, ...]
    """The questions, in the order the page shows them."""

    def __post_init__(self) -> None:
        if not isinstance(self.article, str) or not self.article.strip():
            raise ConfigError(f"the demo's article must be an article id, got {self.article!r}")
        if not isinstance(self.examples, tuple) or not all(
            isinstance(q, str) and q.strip() for q in self.examples
        ):
            raise ConfigError(f"the demo's examples must be questions (text), got {self.examples!r}")

    def examples_for(self, article_ids: Collection[str]) -> list[str]:
        """The questions when the library holds the demo article, else none."""
        return list(self.examples) if self.article in article_ids else []


def load_demo(path: Path = DEMO_FILE) -> Demo:
    """Read a demo file: {"article": id, "examples": [question, ...]}. A file that isn't one raises
    `ConfigError` naming the file and what is wrong with it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"can't read the demo file {path}: {exc}") from exc
    if not isinstance(data, dict) or set(data) != {"article", "examples"}:
        raise ConfigError(f"the demo file {path} must hold an object with exactly 'article' and 'examples'")
    examples = data["examples"]
    if not isinstance(examples, list):
        raise ConfigError(f"'examples' in the demo file {path} must be a list of questions")
    try:
        return Demo(data["article"], tuple(examples))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
