"""A loopback LangSmith: answers GET /info and records the runs posted to /runs/multipart (or /runs/batch).

Multipart parts are named post.<id>, post.<id>.inputs, patch.<id>.outputs, ...; each run's parts are
merged into one dict, so a test can check names, types, parents, tags and metadata offline.
"""

from __future__ import annotations

import json
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INFO = {"version": "0.10.0", "instance_flags": {"zstd_compression_enabled": True},
        "batch_ingest_config": {"size_limit": 100, "size_limit_bytes": 20_971_520, "scale_up_qsize_trigger": 1000,
                                "scale_up_nthreads_limit": 4, "scale_down_nempty_trigger": 4}}


class FakeLangSmith:
    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                owner.requests.append(("GET", self.path))
                self._reply(200, INFO if self.path.rstrip("/").endswith("/info") else {})

            def _body(self) -> bytes:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "zstd":
                    import zstandard

                    raw = zstandard.ZstdDecompressor().stream_reader(raw).read()
                return raw

            def do_POST(self) -> None:  # noqa: N802
                owner.requests.append(("POST", self.path))
                body = self._body()
                if self.path.endswith("/runs/multipart"):
                    owner.add_multipart(self.headers.get("Content-Type", ""), body)
                elif self.path.endswith("/runs/batch"):
                    data = json.loads(body)
                    for run in data.get("post", []) + data.get("patch", []):
                        owner.merge(run["id"], run)
                elif self.path.endswith("/runs"):
                    run = json.loads(body)
                    owner.merge(run["id"], run)
                self._reply(200, {})

            def do_PATCH(self) -> None:  # noqa: N802
                owner.requests.append(("PATCH", self.path))
                owner.merge(self.path.rstrip("/").rsplit("/", 1)[-1], json.loads(self._body()))
                self._reply(200, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def merge(self, run_id: str, fields: dict[str, Any]) -> None:
        with self.lock:
            run = self.runs.setdefault(str(run_id), {"id": str(run_id)})
            for k, v in fields.items():
                if v is not None:
                    run[k] = v

    def add_multipart(self, content_type: str, body: bytes) -> None:
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition") or ""
            kind, _, rest = name.partition(".")
            run_id, _, field = rest.partition(".")
            if kind not in ("post", "patch") or not run_id:
                continue
            payload = json.loads(part.get_payload(decode=True) or b"null")
            self.merge(run_id, {field: payload} if field else payload)

    def by_name(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.runs.values() if r.get("name") == name]

    def __enter__(self) -> FakeLangSmith:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
