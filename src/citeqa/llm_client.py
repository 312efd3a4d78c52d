"""A small client for the OpenAI-compatible chat-completions protocol (`POST .../v1/chat/completions`),
over plain httpx: a JSON reply, or server-sent events when streaming (`data: {...}` lines, each with
`choices[0].delta.content`, then `data: [DONE]`).

Every way a server can fail becomes an `LLMError` with one line that says what happened (refused,
timed out, HTTP 500, not the protocol, empty); none carries the API key or the URL's user part. The
whole reply is bounded by `timeout` seconds and by `MAX_REPLY_BYTES`. httpx's timeouts bound each
read, not the whole: a server that sends its headers just before the timeout, then a word just before
it again, and so on, would keep a caller waiting a multiple of it. So a watchdog (`_Watchdog`) shuts
the connection's socket at the deadline, wherever the request is then (waiting for the headers, the
body or the next event), and the request ends with a timeout there; connecting is bounded by its own
timeout, which is never longer (only the system's name lookup is not bounded by either).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from citeqa.config import safe_url
from citeqa.errors import CiteqaError, MissingDependencyError
from citeqa.text import squash

MAX_REPLY_BYTES = 1 << 20  # a written answer is a few hundred words; more is not an answer
CONNECT_TIMEOUT = 5.0  # seconds to reach the server (at most the whole timeout)


class LLMError(CiteqaError):
    """The language-model server could not give an answer (the message is one line, no secrets)."""


def endpoint(url: str) -> str:
    """The chat-completions URL from what a user gives: the server ("http://host:8080"), its API
    root (".../v1") or the endpoint itself."""
    base = url.strip().rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if base.endswith("/v1"):
        return base + "/chat/completions"
    return base + "/v1/chat/completions"


@dataclass(frozen=True)
class ChatClient:
    """One server and model. `complete` returns the whole reply; `stream` yields its text as it
    arrives (both raise LLMError)."""

    url: str
    model: str = ""
    api_key: str = field(default="", repr=False)
    timeout: float = 60.0
    temperature: float = 0.0  # the same passages, the same answer (as far as the server allows)
    max_tokens: int = 512

    def complete(self, messages: Sequence[Mapping[str, str]]) -> str:
        return "".join(self._reply(messages, stream=False))

    def stream(self, messages: Sequence[Mapping[str, str]]) -> Iterator[str]:
        yield from self._reply(messages, stream=True)

    def _reply(self, messages: Sequence[Mapping[str, str]], stream: bool) -> Iterator[str]:
        try:
            import httpx
        except ImportError:  # pragma: no cover - httpx comes with gradio
            raise MissingDependencyError("the language-model mode needs httpx: pip install httpx") from None
        body: dict[str, Any] = {
            "messages": list(messages),
            "stream": stream,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.model:
            body["model"] = self.model
        headers = {"Accept": "text/event-stream" if stream else "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        where = safe_url(endpoint(self.url))
        deadline = time.monotonic() + self.timeout
        limits = httpx.Timeout(self.timeout, connect=min(CONNECT_TIMEOUT, self.timeout))
        got_text = answered = whole = False
        watch = _Watchdog(self.timeout)
        trace = {"trace": watch.trace}
        try:
            with (
                watch,
                httpx.Client(timeout=limits, trust_env=False, follow_redirects=False) as client,
                client.stream(
                    "POST", endpoint(self.url), json=body, headers=headers, extensions=trace
                ) as resp,
            ):
                answered = True
                if resp.status_code >= 400:
                    raise _StatusError(
                        f"the server at {where} answered HTTP {resp.status_code}{_why(resp, deadline)}"
                    )
                chunks = _bounded(resp.iter_bytes(), deadline, self.timeout)
                ctype = resp.headers.get("content-type", "")
                if stream and "text/event-stream" in ctype:

                    def finished() -> None:
                        nonlocal whole
                        whole = True

                    for text in _sse(chunks, finished):
                        got_text = got_text or bool(text.strip())
                        yield text
                else:  # JSON, also when a server ignores "stream": true
                    text = _message(b"".join(chunks))
                    got_text = whole = bool(text.strip())  # a reply that parses is all there
                    yield text
                if watch.fired and not whole:  # a stream cut at the deadline can end like a whole one
                    raise LLMError("cut at the deadline")
        except (LLMError, httpx.HTTPError) as exc:
            raise _failure(exc, where, self.timeout, cut=watch.fired, answered=answered) from None
        if not got_text:
            raise LLMError(f"the server at {where} sent an empty answer")


class _StatusError(LLMError):
    """The server answered with an HTTP error status."""


def _failure(exc: Exception, where: str, timeout: float, cut: bool, answered: bool) -> LLMError:
    """The one-line LLMError for a failed request. One cut at its deadline says so, whatever the
    shut socket made of it (a connection error, a broken event, a short body)."""
    import httpx

    if isinstance(exc, _StatusError):  # its status says more than a deadline hit reading its body
        return exc
    if cut:
        what = "did not finish its answer" if answered else "did not answer"
        return LLMError(f"the server at {where} {what} within {timeout:g} s")
    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return LLMError(f"the server at {where} did not answer within {timeout:g} s")
    if isinstance(exc, httpx.ConnectError):
        return LLMError(f"could not connect to {where} (is the server running?)")
    return LLMError(f"the connection to {where} failed ({type(exc).__name__})")


class _Watchdog:
    """Shuts the request's socket `timeout` seconds after it starts (`with` it around the request,
    `trace` as its httpx trace extension, which hands over each socket as it connects). A reader
    blocked on the socket then wakes at once with an error or the end of the body; `fired` tells
    the request why."""

    def __init__(self, timeout: float) -> None:
        self.fired = False
        self._streams: list[Any] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        # a plain connection, then (https) the TLS one over it: the last is the one read from
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            with self._lock:
                self._streams.append(info.get("return_value"))
                late = self.fired
            if late:  # connected after the deadline (connecting has its own timeout)
                self._cut()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
        self._cut()

    def _cut(self) -> None:
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            # closed already, or its plain socket now wrapped by TLS: nothing to shut
            with contextlib.suppress(OSError, TypeError, AttributeError):
                # shutdown, not close: it wakes a read blocked in another thread; and the plain
                # socket's method, as SSLSocket.shutdown would unset its TLS state under that read
                socket.socket.shutdown(stream.get_extra_info("socket"), socket.SHUT_RDWR)


def _bounded(chunks: Iterator[bytes], deadline: float, timeout: float) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_REPLY_BYTES:
            raise LLMError(f"the server's reply is over {MAX_REPLY_BYTES // 1024} KB; not an answer")
        if time.monotonic() > deadline:
            raise LLMError(f"the server did not finish its answer within {timeout:g} s")
        yield chunk


def _why(resp: Any, deadline: float) -> str:
    """ ": <the error's message>" from an OpenAI-style error body, cut to one short line."""
    try:
        raw = b"".join(_bounded(resp.iter_bytes(), deadline, 5.0))
        msg = _error_text(json.loads(raw).get("error"))
    except Exception:  # any body at all: the status alone says enough
        return ""
    return f": {msg}" if msg else ""


def _error_text(err: object) -> str:
    """An OpenAI-style error's message ({"message": ...} or a bare value), on one short line."""
    msg = err.get("message") if isinstance(err, dict) else err
    return squash(str(msg))[:160] if msg else ""


def _message(raw: bytes) -> str:
    """choices[0].message.content of a JSON reply."""
    try:
        data = json.loads(raw)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LLMError(
            "the server's reply is not a chat completion (no choices[0].message.content)"
        ) from None
    if not isinstance(content, str):
        raise LLMError("the server's reply has no text (choices[0].message.content is not a string)")
    return content


def _sse(chunks: Iterator[bytes], done: Callable[[], None] = lambda: None) -> Iterator[str]:
    """The text deltas of a server-sent event stream, up to `data: [DONE]` (then `done()` is called:
    the stream is whole) or its end."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            text = _event(line.decode("utf-8", errors="replace").strip())
            if text is None:
                done()
                return
            if text:
                yield text
    if buffer.strip():
        text = _event(buffer.decode("utf-8", errors="replace").strip())
        if text:
            yield text


def _event(line: str) -> str | None:
    """One SSE line: its delta text ("" for comments, blank lines and chunks without text), None at [DONE]."""
    if not line.startswith("data:"):
        return ""
    data = line[5:].strip()
    if data == "[DONE]":
        return None
    try:
        event = json.loads(data)
    except ValueError:
        raise LLMError(
            "the server's stream is not chat-completion events (a data line is not JSON)"
        ) from None
    if isinstance(event, dict) and "error" in event:
        raise LLMError(f"the server stopped with an error: {_error_text(event['error'])}")
    try:
        choices = event["choices"]
        if not choices:  # a usage-only chunk
            return ""
        text = choices[0].get("delta", {}).get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError):
        raise LLMError("the server's stream is not chat-completion events (no choices[0].delta)") from None
    return text if isinstance(text, str) else ""
