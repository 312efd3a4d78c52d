"""The chat page: a thin Gradio layer over one `Assistant`. Nothing launches on import.

    demo = build_app(Assistant.open(kb))
    demo.queue().launch(**launch_options())   # Gradio 6: theme and css go to launch()

Layout and event wiring live here; the handlers are in handlers.py, the HTML in render.py and
render_library.py (through the autoescaped templates of markup.py), per-tab state in sessions.py and
the browser-side glue in scripts.py. Each browser tab has its own conversation; the browser keeps a copy
(storage.py) that a reload brings back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from citeqa.assistant import Assistant
from citeqa_app import llm_stream, render, render_library, scope_ui, storage
from citeqa_app.handlers import ChatPage
from citeqa_app.scripts import (
    ARTICLE_JS,
    AS_OF_TYPED_JS,
    CHAT_JS,
    CLEAR_AS_OF_JS,
    DROP_JS,
    LIBRARY_JS,
    SCOPE_LINE_JS,
    SOURCES_JS,
)
from citeqa_app.sessions import Conversation
from citeqa_app.uploads import ALLOWED_SUFFIXES, UploadLimits, megabytes

__all__ = ["ChatPage", "build_app", "launch_options"]

HERE = Path(__file__).parent
ANSWERING = {"concurrency_id": "answer", "concurrency_limit": 4}  # the embedder serialises its own calls
WRITING = {"concurrency_id": "kb-write", "concurrency_limit": 1}  # one knowledge-base writer at a time
# The browser's copy of its conversation. Gradio encrypts it with this secret, which it also sends to
# the page (so it hides nothing from the user); a fixed one keeps a stored conversation readable after
# a server restart, where a random one would make the page log a decryption error and start empty.
STORAGE_KEY = "citeqa-conversation"
STORAGE_SECRET = "citeqa-conversation-v1"


def launch_options() -> dict[str, Any]:
    """What Gradio 6 wants at `launch()` rather than in `Blocks()`: theme, css, page title bits."""
    # System fonts: nothing to download, and every weight exists (the bundled Plex lacks 700).
    sans = (
        "Inter",
        "-apple-system",
        "BlinkMacSystemFont",
        "Segoe UI",
        "Roboto",
        "Helvetica Neue",
        "Arial",
        "Liberation Sans",
        "sans-serif",
    )
    mono = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace")
    theme = gr.themes.Base(
        primary_hue=gr.themes.colors.indigo,
        secondary_hue=gr.themes.colors.amber,
        neutral_hue=gr.themes.colors.slate,
        radius_size=gr.themes.sizes.radius_md,
        font=[gr.themes.Font(f) for f in sans],
        font_mono=[gr.themes.Font(f) for f in mono],
    )
    return {
        "theme": theme,
        "css": (HERE / "style.css").read_text(encoding="utf-8"),
        "footer_links": ["api"],
        "run_history": False,
    }


def build_app(
    qa: Assistant,
    *,
    uploads: Path | None = None,
    limits: UploadLimits | None = None,
    examples: Sequence[str] | None = None,
) -> gr.Blocks:
    """The chat page over `qa`. Launch it with `demo.launch(**launch_options())`."""
    page = ChatPage(qa, uploads=uploads, limits=limits, examples=examples)
    lim = page.limits
    # delete_cache: Gradio keeps its own copy of every upload; drop those after an hour or two.
    with gr.Blocks(
        title="citeqa · cited answers from your articles", analytics_enabled=False, delete_cache=(3600, 7200)
    ) as demo:
        with gr.Row(elem_classes="cq-header", equal_height=True):
            gr.HTML(render_library.brand(), js_on_load=None, elem_classes="cq-brand-wrap")
            stats = gr.HTML(page.stats_html(), js_on_load=None, elem_id="cq-stats")
        with gr.Tabs(elem_classes="cq-tabs") as tabs:
            with (
                gr.Tab("Chat", id="chat", elem_id="cq-tab-chat"),
                gr.Row(equal_height=False, elem_classes="cq-main"),
            ):
                with gr.Column(scale=6, min_width=360, elem_classes="cq-left"):
                    chat = gr.HTML(
                        page.chat_html(Conversation(qa.chat())),
                        js_on_load=CHAT_JS,
                        elem_id="cq-chat",
                    )
                    with gr.Row(elem_classes="cq-composer", equal_height=False):
                        question = gr.Textbox(
                            placeholder="Ask about your articles…",
                            show_label=False,
                            container=False,
                            lines=1,
                            max_lines=6,
                            # The browser stops typing and pasting at the limit the server enforces
                            # (check_question), instead of shipping megabytes to be refused.
                            max_length=qa.config.max_question_chars,
                            scale=8,
                            elem_id="cq-question",
                            autofocus=True,
                            submit_btn=False,
                        )
                        send = gr.Button("Send", variant="primary", scale=1, min_width=88, elem_id="cq-send")
                    # Shown only when a language model is configured (citeqa serve --llm-url).
                    with gr.Row(elem_classes="cq-llm-row", visible=qa.config.llm):
                        use_llm = gr.Checkbox(
                            value=True,
                            label=llm_stream.switch_label(qa.config.llm_model),
                            container=False,
                            visible=qa.config.llm,
                            elem_id="cq-use-llm",
                            elem_classes="cq-llm-switch",
                        )
                    with gr.Row(elem_classes="cq-chat-tools"):
                        export = gr.DownloadButton(
                            "Export as Markdown",
                            size="sm",
                            interactive=False,
                            scale=0,
                            elem_id="cq-export",
                        )
                        new_chat = gr.Button("New conversation", size="sm", scale=0, elem_id="cq-new-chat")
                    scope_line = gr.HTML("", js_on_load=SCOPE_LINE_JS, elem_id="cq-scope-line")
                    with gr.Accordion(
                        "Scope", open=False, elem_classes="cq-settings", elem_id="cq-scope"
                    ) as scope_box:
                        with gr.Row():
                            as_of = gr.DateTime(
                                include_time=False,
                                type="string",
                                label="As of",
                                info="Later articles are invisible; “this week” is read against this day.",
                                elem_id="cq-as-of",
                            )
                            scope_sources = gr.Dropdown(
                                [], multiselect=True, label="Only these sources", elem_id="cq-scope-sources"
                            )
                        scope_articles = gr.Dropdown(
                            [],
                            multiselect=True,
                            label="Only these articles",
                            info="Or pick them in the Library with “Ask about”.",
                            elem_id="cq-scope-articles",
                        )
                        clear_scope = gr.Button("Clear scope", size="sm", scale=0, elem_id="cq-clear-scope")
                    with gr.Accordion("Settings", open=False, elem_classes="cq-settings"), gr.Row():
                        top_k = gr.Slider(
                            1,
                            20,
                            value=min(qa.config.top_k, 20),
                            step=1,
                            label="Passages to retrieve",
                            info="How many passages the answer may draw on.",
                            elem_id="cq-top-k",
                        )
                        show_sources = gr.Checkbox(
                            value=True,
                            label="Show sources",
                            info="The retrieved passages, beside the answer.",
                            elem_id="cq-show-sources",
                        )
                with gr.Column(scale=5, min_width=320, elem_classes="cq-right"):
                    article = gr.HTML(
                        render.article_placeholder(), js_on_load=ARTICLE_JS, elem_id="cq-article"
                    )
                    sources = gr.HTML(render.sources(None), js_on_load=SOURCES_JS, elem_id="cq-sources")
            with gr.Tab("Library", id="library", elem_id="cq-tab-library"), gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=300):
                    help_html = render_library.library_help(
                        ALLOWED_SUFFIXES,
                        lim.max_files,
                        megabytes(lim.max_file_bytes),
                        megabytes(lim.max_total_bytes),
                    )
                    # An upload button, not gr.File: Gradio 6's file drop area logs "Method not
                    # implemented." twice per upload (its progress stream has no close(), gradio#12002).
                    # DROP_JS makes this panel the drop target instead.
                    with gr.Column(elem_id="cq-dropzone", elem_classes="cq-dropzone"):
                        gr.HTML(help_html, js_on_load=DROP_JS)
                        files = gr.UploadButton(
                            "Choose files…",
                            file_count="multiple",
                            file_types=list(ALLOWED_SUFFIXES),
                            type="filepath",
                            elem_id="cq-upload",
                        )
                    ingest = gr.HTML("", js_on_load=None, elem_id="cq-ingest")
                with gr.Column(scale=3, min_width=360):
                    library = gr.HTML(page.library_html(), js_on_load=LIBRARY_JS, elem_id="cq-library")

        stored = gr.BrowserState(storage.EMPTY, storage_key=STORAGE_KEY, secret=STORAGE_SECRET)
        chat_out = [chat, question, sources, article, stored, export]
        scope_in = [as_of, scope_articles, scope_sources]
        gr.on(
            [question.submit, send.click],
            page.chat,
            [question, top_k, *scope_in, use_llm],
            chat_out,
            api_name="chat",
            api_visibility="undocumented",
            show_progress="hidden",
            **ANSWERING,
        )
        chat.select(
            page.ask_example,
            [top_k, *scope_in, use_llm],
            chat_out,
            api_name="ask_example",
            api_visibility="undocumented",
            show_progress="hidden",
            **ANSWERING,
        )
        chat.click(
            page.open_citation,
            None,
            article,
            api_name="open_citation",
            api_visibility="undocumented",
            show_progress="hidden",
        )
        sources.click(
            page.open_source,
            None,
            article,
            api_name="open_source",
            api_visibility="undocumented",
            show_progress="hidden",
        )
        new_chat.click(
            page.new_chat,
            None,
            [chat, sources, article, question, stored, export],
            api_name="new_conversation",
            api_visibility="undocumented",
            show_progress="hidden",
        )
        show_sources.change(
            page.toggle_sources,
            show_sources,
            sources,
            api_name="toggle_sources",
            api_visibility="undocumented",
            show_progress="hidden",
            queue=False,
        )
        files.upload(
            page.add_files,
            files,
            [files, ingest, library, stats],
            api_name="upload",
            api_visibility="undocumented",
            show_progress_on=[ingest],
            **WRITING,
        )
        library.click(
            page.library_click,
            scope_articles,
            [ingest, library, stats, scope_articles, scope_sources, tabs],
            api_name="remove_article",
            api_visibility="undocumented",
            **WRITING,
        )
        # The lists' choices follow the library: refreshed whenever the panel opens.
        scope_box.expand(lambda: scope_ui.choices(qa), None, [scope_articles, scope_sources], queue=False)
        # Carries the text the As of box shows (AS_OF_TYPED_JS fills it in) to the scope line.
        as_of_typed = gr.Textbox(visible=False)
        gr.on(
            [as_of.change, as_of.submit, scope_line.input, scope_articles.change, scope_sources.change],
            scope_ui.summary,
            [*scope_in, as_of_typed],
            scope_line,
            js=AS_OF_TYPED_JS,
            queue=False,
            show_progress="hidden",
        )
        clear_scope.click(
            lambda: (None, [], [], ""),
            None,
            [*scope_in, scope_line],
            js=CLEAR_AS_OF_JS,
            queue=False,
            show_progress="hidden",
        )
        demo.load(
            page.on_load,
            stored,
            [stats, chat, library, sources, export],
            api_name="refresh",
            api_visibility="undocumented",
            show_progress="hidden",
        )
        demo.unload(page.on_unload)

        # Uploading through the API needs File components to carry the files; they are never shown.
        with gr.Row(visible=False):
            api_files = gr.File(file_count="multiple", type="filepath", label="files")
            api_report = gr.JSON(label="report")
            api_add = gr.Button("add")
        api_add.click(page.api_add, api_files, api_report, api_name="add", **WRITING)
        gr.api(page.api_ask, api_name="ask", **ANSWERING)
        gr.api(page.api_new_chat, api_name="new_chat")
        gr.api(page.api_articles, api_name="articles")
        gr.api(page.api_article, api_name="article")
        gr.api(page.api_remove, api_name="remove", **WRITING)
    demo.citeqa_page = page  # type: ignore[attr-defined]  # for tests and benchmarks
    return demo
