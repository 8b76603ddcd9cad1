"""SIGKILL mid-turn: a real `app.py serve` process (SQLite checkpointer, embedded Chroma) is killed while
its LLM call hangs; after a restart on the same memory dir the last finished turn is intact, the
interrupted message is kept and reported, and the conversation goes on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.integration.fake_openai import fake_openai
from tests.integration.serving_support import free_port

pytestmark = [pytest.mark.slow, pytest.mark.ci]


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "app.py", "serve", "--domain", "data/movielens", "--no-build",
                             "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json().get("status") == "ok":
                return proc
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    proc.kill()
    raise AssertionError("server did not start")


def users(hist: dict[str, Any]) -> list[str]:
    return [m["text"] for m in hist["messages"] if m["role"] == "user"]


def test_sigkill_mid_turn_keeps_history_and_reports_the_interrupted_turn(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with fake_openai() as llm:
        env = {**os.environ, "INTEREC_ARTIFACTS": str(ml_domain_indexed.artifacts.parent),
               "INTEREC_MEMORY_DIR": str(tmp_path), "INTEREC_LLM_PROVIDER": "openai", "INTEREC_LLM_BASE_URL": llm.url,
               "INTEREC_LLM_API_KEY": "sk-test", "INTEREC_LLM_MODEL": "fake", "INTEREC_LLM_TIMEOUT": "120",
               "INTEREC_WARMUP": "false", "LANGSMITH_TRACING": "false", "HF_HUB_OFFLINE": "1"}
        for k in ("INTEREC_CHECKPOINT_URL", "INTEREC_CHROMA_HOST", "INTEREC_API_KEYS"):
            env.pop(k, None)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(env, port)
        try:
            first = "I loved Toy Story, a comedy please"
            r = httpx.post(f"{url}/chat", json={"message": first, "thread_id": "k1"}, timeout=120)
            assert r.status_code == 200 and r.json()["items"]
            done = httpx.get(f"{url}/threads/k1").json()

            llm.mode, llm.hang_s = "hang_reply", 120.0  # the next reply call hangs: the turn is mid-way
            cut = "now make it a comedy from the 90s"
            outcome: dict[str, Any] = {}

            def doomed() -> None:
                try:
                    outcome["status"] = httpx.post(f"{url}/chat", json={"message": cut, "thread_id": "k1"},
                                                   timeout=120).status_code
                except httpx.HTTPError as e:
                    outcome["error"] = type(e).__name__

            t = threading.Thread(target=doomed)
            t.start()
            assert llm.reply_started.wait(120), "the turn never reached the reply writer"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            t.join(timeout=30)
            assert "error" in outcome and "status" not in outcome  # the client saw the connection drop
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == -signal.SIGKILL

        llm.mode = "ok"
        llm.release.set()
        proc = start_server(env, port)  # same memory dir: SQLite checkpoints and embedded Chroma
        try:
            hist = httpx.get(f"{url}/threads/k1").json()
            assert hist["messages"][:2] == done["messages"]  # the last finished turn is intact
            assert users(hist) == [first, cut] and hist["interrupted"] is True
            prof = httpx.get(f"{url}/profile").json()
            assert prof["like"] == ["Toy Story (1995)"]  # the finished turn's profile update survived

            r = httpx.post(f"{url}/chat", json={"message": "a comedy from the 90s then", "thread_id": "k1"}, timeout=120)
            assert r.status_code == 200 and r.json()["items"]
            assert r.json()["interrupted"] == cut  # reported to the client
            hist = httpx.get(f"{url}/threads/k1").json()
            assert users(hist) == [first, cut, "a comedy from the 90s then"] and hist["interrupted"] is False
            assert [m["role"] for m in hist["messages"]] == ["user", "assistant", "user", "user", "assistant"]
            years = [it["fields"]["year"] for it in r.json()["items"]]
            assert all(1990 <= y <= 1999 for y in years)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
