"""A loopback OpenAI-compatible chat server for fault tests: healthy, down, slow, or answering garbage.

Healthy answers follow the agent's call kinds: the planner gets a comedy plan, the writer a numbered list
of the items it was shown. `mode` switches faults on and off while a conversation goes on.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PLAN = {"reply": None, "like": [], "dislike": [], "steps": [
    {"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Comedy"}]},
    {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}
MODES = ("ok", "slow", "garbage", "html", "http500", "empty", "hang_reply")


@dataclass
class FakeOpenAI:
    mode: str = "ok"
    hang_s: float = 5.0
    requests: list[str] = field(default_factory=list)  # call kinds: plan | reply | critic
    reply_started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def answer(self, body: dict[str, Any]) -> tuple[int, bytes, str]:
        msgs = body.get("messages") or [{}]
        system = str(msgs[0].get("content", ""))
        kind = "plan" if system.startswith("You plan") else "critic" if system.startswith("You check") else "reply"
        self.requests.append(kind)
        mode = self.mode
        if mode == "slow" or (mode == "hang_reply" and kind == "reply"):
            self.reply_started.set()
            self.release.wait(self.hang_s)
        if mode == "html":
            return 200, b"<html><body>502 Bad Gateway</body></html>", "text/html"
        if mode == "http500":
            return 500, b'{"error": {"message": "boom", "type": "server_error"}}', "application/json"
        if mode == "garbage":
            content = "}}{{ not json at all \x00 <|im_end|> ```"
        elif mode == "empty":
            content = ""
        elif kind == "plan":
            content = json.dumps(PLAN)
        elif kind == "critic":
            content = json.dumps({"ok": True, "advice": ""})
        else:
            prompt = str(msgs[-1].get("content", ""))
            block = prompt.split("Items:\n", 1)[1].split("\n\nFacts:", 1)[0] if "Items:\n" in prompt else ""
            titles = [re.sub(r"^\d+\.\s+", "", ln).rsplit(" (", 1)[0] for ln in block.splitlines() if re.match(r"^\d+\.", ln)]
            content = "\n".join(f"{i}. {t} - a good fit." for i, t in enumerate(titles, 1)) or "Here is what I found."
        out = {"id": "c1", "object": "chat.completion", "created": 1, "model": body.get("model", "x"),
               "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        return 200, json.dumps(out).encode(), "application/json"


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            status, data, ctype = fake.answer(body)
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (timeout) or was killed
                pass

    return Handler


@contextmanager
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
