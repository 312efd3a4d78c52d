"""A small client for the OpenAI-compatible chat-completions protocol (`POST .../v1/chat/completions`),
over plain httpx: a JSON reply, or server-sent events when streaming (`data: {...}` lines, each with
`choices[0].delta.content`, then `data: [DONE]`).

Every way a server can fail becomes an `LLMError` with one line that says what happened (refused,
timed out, HTTP 500, not the protocol, empty); none carries the API key or the URL's user part. The
whole reply is bounded by `timeout` seconds (a server that trickles forever is cut off too) and by
`MAX_REPLY_BYTES`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
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
        got_text = False
        try:
            with (
                httpx.Client(timeout=limits, trust_env=False, follow_redirects=False) as client,
                client.stream("POST", endpoint(self.url), json=body, headers=headers) as resp,
            ):
                if resp.status_code >= 400:
                    raise LLMError(
                        f"the server at {where} answered HTTP {resp.status_code}{_why(resp, deadline)}"
                    )
                chunks = _bounded(resp.iter_bytes(), deadline, self.timeout)
                ctype = resp.headers.get("content-type", "")
                if stream and "text/event-stream" in ctype:
                    for text in _sse(chunks):
                        got_text = got_text or bool(text.strip())
                        yield text
                else:  # JSON, also when a server ignores "stream": true
                    text = _message(b"".join(chunks))
                    got_text = bool(text.strip())
                    yield text
        except LLMError:
            raise
        except httpx.TimeoutException:
            raise LLMError(f"the server at {where} did not answer within {self.timeout:g} s") from None
        except httpx.ConnectError:
            raise LLMError(f"could not connect to {where} (is the server running?)") from None
        except httpx.HTTPError as exc:
            raise LLMError(f"the connection to {where} failed ({type(exc).__name__})") from None
        if not got_text:
            raise LLMError(f"the server at {where} sent an empty answer")


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


def _sse(chunks: Iterator[bytes]) -> Iterator[str]:
    """The text deltas of a server-sent event stream, up to `data: [DONE]` (or its end)."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            text = _event(line.decode("utf-8", errors="replace").strip())
            if text is None:
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
