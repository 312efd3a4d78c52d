"""`citeqa serve`: open the knowledge base and launch the chat page (app/, package `citeqa_app`).

Gradio is imported here only when `serve` is called; importing this module launches nothing.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from citeqa.config import Config
from citeqa.errors import MissingDependencyError
from citeqa.text import plural


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.x, ::1, "localhost")."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    kb: Path, host: str = "127.0.0.1", port: int = 7860, configure: Callable[[Config], Config] | None = None
) -> int:
    """Serve the chat page for the knowledge base at `kb` until interrupted; returns an exit code.
    `configure` changes the settings the knowledge base was built with (the language model's)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # Gradio calls home unless told not to
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # Gradio's queue keeps a local usage table with pandas, which pandas 3 warns about on every event.
    warnings.filterwarnings("ignore", module="gradio.queueing")
    from citeqa.assistant import Assistant

    try:
        from citeqa_app.ui import build_app, launch_options
        from citeqa_app.uploads import UploadLimits
    except ImportError as exc:
        raise MissingDependencyError(
            f"the web page needs Gradio ({exc}); install it with: pip install 'gradio>=6,<7'"
        ) from None

    busy = _port_problem(host, port)  # before loading anything, and before saying "serving on"
    if busy:
        print(f"citeqa: error: {busy}", file=sys.stderr)
        return 2
    qa = Assistant.open(kb)
    if configure is not None:
        qa.config = configure(qa.config)
    counts = qa.kb.counts()
    print(
        f"citeqa: loading the model for {kb} ({plural(counts['articles'], 'article')}, "
        f"{plural(counts['passages'], 'passage')})…",
        flush=True,
    )
    # Load the models now (the ONNX question encoder is exported once, ~2 s, on a fresh machine),
    # so the first question is not the slow one.
    qa.warm_up()
    limits = UploadLimits()
    demo = build_app(qa, limits=limits)
    url_host = f"[{host}]" if ":" in host else host
    if not is_loopback(host):
        bar = "!" * 78
        print(
            f"\n{bar}\n  WARNING: listening on {host}, not on this machine only. Anyone who can reach this\n"
            "  address can read every article, ask questions, upload files and REMOVE articles.\n"
            "  There is no login. Use --host 127.0.0.1 unless you mean it.\n"
            f"{bar}\n",
            file=sys.stderr,
            flush=True,
        )
    print(f"citeqa: serving on http://{url_host}:{port}  (Ctrl-C stops)", flush=True)
    try:
        demo.queue(default_concurrency_limit=1).launch(
            server_name=host,
            server_port=port,
            quiet=True,
            show_error=False,
            max_file_size=limits.max_file_bytes,  # Gradio refuses bigger files before they arrive
            **launch_options(),
        )
    except OSError:  # taken between the check and the launch: Gradio's own advice names its variables
        print(
            f"citeqa: error: {_port_problem(host, port) or f'cannot listen on {host}:{port}'}",
            file=sys.stderr,
        )
        return 2
    finally:
        qa.close()
    return 0


def _port_problem(host: str, port: int) -> str:
    """Why the page can't listen on host:port ("" when it can): a port in use says how to pick another."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is in use (another `citeqa serve` or `make run`?); choose "
                    "another with --port N (make run PORT=N)"
                )
            return f"cannot listen on {host}:{port} ({exc.strerror or exc})"
    return ""
