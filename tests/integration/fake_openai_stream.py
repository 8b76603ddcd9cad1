"""A loopback OpenAI-compatible chat server that streams, for tests that run the app in another process
(the terminal chat under tmux, `langgraph dev`): it streams word by word when asked to, and stops at
max_tokens (one word = one token) with finish_reason "length", as a real server does at its cap."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PLAN = {"reply": None, "like": ["Toy Story (1995)"], "dislike": [], "steps": [
    {"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Comedy"}]},
    {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}


def shown_titles(prompt: str) -> list[str]:
    """The titles of the reply writer's "Items:" block, without years."""
    block = prompt.split("Items:\n", 1)[1].split("\n\nFacts:", 1)[0] if "Items:\n" in prompt else ""
    return [re.sub(r"^\d+\.\s+", "", ln).rsplit(" (", 1)[0] for ln in block.splitlines() if re.match(r"^\d+\.", ln)]


def list_writer(prompt: str) -> str:
    lines = "\n".join(f"{i}. {t} - a good fit." for i, t in enumerate(shown_titles(prompt), 1))
    return f"You might enjoy:\n{lines}" if lines else "Here is what I found."


@dataclass
class StreamingFakeOpenAI:
    writer: Callable[[str], str] = list_writer  # the reply writer's answer for a prompt
    explainer: str = "Everyone adores it: 97% of critics gave it a 9.5."  # invented numbers: the template wins
    requests: list[str] = field(default_factory=list)  # call kinds: plan | critic | explain | reply
    capped: int = 0
    url: str = ""

    def content(self, body: dict[str, Any]) -> str:
        msgs = body.get("messages") or [{}]
        system, prompt = str(msgs[0].get("content", "")), str(msgs[-1].get("content", ""))
        kind = ("plan" if system.startswith("You plan") else "critic" if system.startswith("You check")
                else "explain" if system.startswith("You explain") else "reply")
        self.requests.append(kind)
        if kind == "plan":
            return json.dumps(PLAN)
        if kind == "critic":
            return json.dumps({"ok": True, "advice": ""})
        return self.explainer if kind == "explain" else self.writer(prompt)

    def respond(self, body: dict[str, Any]) -> tuple[list[str], str]:
        words = re.findall(r"\S+\s*", self.content(body))
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        if cap and len(words) > cap:
            self.capped += 1
            return words[:cap], "length"
        return words, "stop"


def _handler(fake: StreamingFakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, ctype: str, data: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            words, finish = fake.respond(body)
            base = {"id": "c1", "created": 1, "model": body.get("model", "fake")}
            usage = {"prompt_tokens": 10, "completion_tokens": len(words), "total_tokens": 10 + len(words)}
            if not body.get("stream"):
                out = {**base, "object": "chat.completion", "usage": usage, "choices": [
                    {"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": "".join(words)}}]}
                return self._send("application/json", json.dumps(out).encode())
            chunks = [{"index": 0, "delta": {"role": "assistant", "content": w}, "finish_reason": None} for w in words]
            chunks.append({"index": 0, "delta": {}, "finish_reason": finish})
            events = [{**base, "object": "chat.completion.chunk", "choices": [c]} for c in chunks]
            events.append({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
            data = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
            self._send("text/event-stream", data)

    return Handler


@contextmanager
def streaming_fake_openai(writer: Callable[[str], str] = list_writer) -> Iterator[StreamingFakeOpenAI]:
    fake = StreamingFakeOpenAI(writer=writer)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
