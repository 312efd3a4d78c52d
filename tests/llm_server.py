"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol with scripted
replies: a test double of the user's language model, plugged in through the real interface (the
client connects to it over TCP like to any server).

    with ScriptedLLM() as llm:
        llm.script = lambda request: f"The drills will be held in Kars [{passage_with(request, 'Kars')}]."
        qa.config = qa.config.with_(llm_url=llm.url)

`behaviour` picks how it answers: "ok" (the script's text, as JSON or as server-sent events when the
request asks to stream), "slow" (waits `delay` seconds first), "trickle" (streams one word every
`delay` seconds, forever), "dawdle" (its headers after `delay` seconds, then every piece of the
reply `delay` seconds after the one before: JSON in one piece, streamed a word at a time), "fail"
(HTTP 500 with an OpenAI-style error), "fail-slowly" (the same, its body `delay` seconds after its
headers), "malformed" (HTTP 200 that isn't a chat completion), "html" (a web page),
"garbage-stream" (an event stream whose data isn't JSON). Every request is kept in `requests`
(path, headers, JSON body).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Request = dict[str, Any]


def free_port() -> int:
    """A port nothing listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def passages(request: Request) -> dict[int, str]:
    """The numbered passages of the prompt's last user message: {n: text}."""
    content = request["messages"][-1]["content"]
    found = re.findall(r"^\[(\d+)\] (.*?)(?=\n\n\[\d+\] |\n\nQuestion: )", content, re.M | re.S)
    return {int(n): text for n, text in found}


def passage_with(request: Request, needle: str) -> int:
    """The number of the first passage that holds `needle`."""
    return next(n for n, text in sorted(passages(request).items()) if needle in text)


class ScriptedLLM:
    def __init__(self) -> None:
        self.script: Callable[[Request], str] = lambda request: "I don't know."
        self.behaviour = "ok"
        self.delay = 0.0
        self.pace = 0.0  # seconds between two streamed pieces of an "ok" reply (to watch it stream)
        self.requests: list[dict[str, Any]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> ScriptedLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(llm: ScriptedLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            llm.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if not self.path.endswith("/v1/chat/completions"):
                return self._send(404, "application/json", b'{"error": {"message": "no such endpoint"}}')
            if llm.behaviour in ("fail", "fail-slowly"):
                return self._send(
                    500, "application/json", b'{"error": {"message": "model crashed", "code": 500}}'
                )
            if llm.behaviour == "malformed":
                return self._send(200, "application/json", b'{"id": "x", "object": "chat.completion"}')
            if llm.behaviour == "html":  # a web page where the API should be
                return self._send(200, "text/html", b"<html><body>Welcome to nginx!</body></html>")
            if llm.behaviour == "garbage-stream":
                return self._send(
                    200, "text/event-stream", b'data: {"choices": [{"delta": {}}]}\n\ndata: oops\n\n'
                )
            if llm.behaviour in ("slow", "dawdle"):
                time.sleep(llm.delay)
            text = llm.script(body)
            if body.get("stream"):
                return self._stream(text)
            reply = {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": body.get("model", "scripted"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
            }
            self._send(200, "application/json", json.dumps(reply).encode())

        def _send(self, status: int, ctype: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if llm.behaviour in ("dawdle", "fail-slowly"):  # the headers now, the body later
                self.wfile.flush()
                time.sleep(llm.delay)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                self.wfile.write(data)

        def _stream(self, text: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            pieces = re.findall(r"\S+\s*", text) or [""]
            try:
                if llm.behaviour == "dawdle":  # the headers now, the first words later
                    self.wfile.flush()
                    time.sleep(llm.delay)
                self._event({"role": "assistant", "content": ""})
                while True:
                    for piece in pieces:
                        self._event({"content": piece})
                        time.sleep(llm.delay if llm.behaviour in ("trickle", "dawdle") else llm.pace)
                    if llm.behaviour != "trickle":
                        break
                self._event({}, finish="stop")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass
            self.close_connection = True

        def _event(self, delta: dict[str, str], finish: str | None = None) -> None:
            chunk = {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

    return Handler
