"""Any OpenAI-compatible chat server (vLLM, TGI, llama.cpp server, Ollama) over streamed HTTP.

Only the standard library is used (``http.client``): no SDK to install, and the server-sent-event
parsing is small enough to own and test against recorded streams. Timeouts: ``timeout_s`` bounds the
connection and each wait for the next bytes (a hung server fails within it); the whole answer is cut
at ``DEADLINE_FACTOR * timeout_s`` so a server that trickles keep-alives forever cannot hang a user.
Deliberately left out: retries (a retry would re-bill a slow prompt; the caller decides), tool calls.
"""
from __future__ import annotations

import http.client
import json
import socket
import time
from typing import Iterable, Iterator
from urllib.parse import urlsplit

from ..errors import ConfigError, GenerationError
from .base import GenerationRequest, Generator, register

DEADLINE_FACTOR = 5.0
_CONNECT_TIMEOUT_CAP_S = 10.0


def iter_sse_data(lines: Iterable[bytes]) -> Iterator[str]:
    """Yield the ``data`` payload of each server-sent event (multi-line data joined by newlines)."""
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):           # comment / keep-alive
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
        # "event", "id" and "retry" fields carry nothing we need
    if data:
        yield "\n".join(data)


@register("openai")
class OpenAIGenerator(Generator):
    name = "openai"

    def __init__(self, settings):
        self.base_url = settings.openai_base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = settings.openai_model
        self.api_key = settings.openai_api_key
        self.timeout_s = float(settings.timeout_s)
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"openai_base_url {settings.openai_base_url!r} is not an http(s) URL; "
                "set RAG_OPENAI_BASE_URL, e.g. http://127.0.0.1:8000/v1"
            )
        self._parts = parts

    @property
    def label(self) -> str:
        return f"openai:{self.model}"

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        deadline = time.monotonic() + DEADLINE_FACTOR * self.timeout_s
        conn = self._connect()
        try:
            response = self._post(conn, request)
            yield from self._read_stream(response, deadline, request)
        finally:
            conn.close()

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(self._parts.hostname, self._parts.port, timeout=min(self.timeout_s, _CONNECT_TIMEOUT_CAP_S))
        try:
            conn.connect()
        except ConnectionRefusedError as exc:
            raise GenerationError(
                f"Connection refused by {self.url}: is the server running? Start it (e.g. `vllm serve "
                f"{self.model}`) or set RAG_OPENAI_BASE_URL to where it listens."
            ) from exc
        except (socket.timeout, TimeoutError) as exc:
            raise GenerationError(f"Timed out connecting to {self.url}; check the address and network.") from exc
        except OSError as exc:
            raise GenerationError(f"Cannot connect to {self.url}: {exc}. Check RAG_OPENAI_BASE_URL.") from exc
        conn.sock.settimeout(self.timeout_s)  # from now on: the wait for each read
        return conn

    def _post(self, conn: http.client.HTTPConnection, request: GenerationRequest) -> http.client.HTTPResponse:
        body = json.dumps({
            "model": self.model,
            "messages": request.messages,
            "max_tokens": request.max_new_tokens,
            "temperature": 0,
            "stream": True,
        }).encode("utf-8")
        path = self._parts.path + (f"?{self._parts.query}" if self._parts.query else "")
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "Authorization": f"Bearer {self.api_key}",
        }
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
        except (socket.timeout, TimeoutError) as exc:
            raise GenerationError(
                f"{self.url} did not answer within {self.timeout_s:g} s; the server may be overloaded "
                "(raise RAG_TIMEOUT_S or use a smaller model)."
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise GenerationError(f"Request to {self.url} failed: {exc}.") from exc
        if response.status != 200:
            raise GenerationError(self._http_error_message(response))
        return response

    def _http_error_message(self, response: http.client.HTTPResponse) -> str:
        try:
            snippet = response.read(1000).decode("utf-8", "replace").strip()
        except (OSError, http.client.HTTPException):
            snippet = ""
        hint = {
            401: "check RAG_OPENAI_API_KEY",
            403: "check RAG_OPENAI_API_KEY",
            404: f"check RAG_OPENAI_BASE_URL (it should end in /v1) and that the server serves model {self.model!r}",
        }.get(response.status, "see the server's log")
        return f"{self.url} answered HTTP {response.status} {response.reason}: {snippet[:300]} ({hint})."

    def _read_stream(self, response: http.client.HTTPResponse, deadline: float,
                     request: GenerationRequest | None = None) -> Iterator[str]:
        for payload in iter_sse_data(self._lines(response, deadline)):
            if payload.strip() == "[DONE]":
                return
            text = self._delta_text(payload, request)
            if text:
                yield text
        raise GenerationError(
            f"The stream from {self.url} ended before [DONE]: the server closed the connection mid-answer "
            "(it may have crashed or run out of memory; see its log)."
        )

    def _lines(self, response: http.client.HTTPResponse, deadline: float) -> Iterator[bytes]:
        while True:
            if time.monotonic() > deadline:
                raise GenerationError(
                    f"{self.url} took longer than {DEADLINE_FACTOR * self.timeout_s:g} s for one answer; "
                    "raise RAG_TIMEOUT_S or lower max_new_tokens."
                )
            try:
                line = response.readline()
            except (socket.timeout, TimeoutError) as exc:
                raise GenerationError(
                    f"{self.url} sent nothing for {self.timeout_s:g} s mid-answer; the server may be hung "
                    "or overloaded (raise RAG_TIMEOUT_S if it is just slow)."
                ) from exc
            except (OSError, http.client.HTTPException) as exc:
                raise GenerationError(f"Reading the stream from {self.url} failed: {exc}.") from exc
            if not line:
                return
            yield line

    def _delta_text(self, payload: str, request: GenerationRequest | None = None) -> str:
        try:
            event = json.loads(payload)
        except ValueError as exc:
            raise GenerationError(
                f"{self.url} sent malformed JSON in its stream ({exc}): {payload[:200]!r}. "
                "Is RAG_OPENAI_BASE_URL an OpenAI-compatible /v1 endpoint?"
            ) from exc
        if not isinstance(event, dict):
            raise GenerationError(f"{self.url} sent an unexpected event: {payload[:200]!r}.")
        if "error" in event:
            raise GenerationError(f"{self.url} reported an error mid-stream: {str(event['error'])[:300]}.")
        choices = event.get("choices") or []   # the final usage chunk has no choices
        if not choices:
            return ""
        if request is not None and choices[0].get("finish_reason"):
            request.finish_reason = choices[0]["finish_reason"]   # "length": cut by max_tokens
        delta = choices[0].get("delta") or {}
        return delta.get("content") or ""
