"""`langgraph dev` proven: its own virtualenv from requirements-langgraph.lock, the server started on 127.0.0.1
from langgraph.json, and runs completed through its HTTP API (threads, runs/wait, thread state).

Slow and not in CI: the first run installs a second venv (torch, chromadb, langgraph-api: minutes); later runs
reuse it (~/.cache/interec/venv-langgraph, or $INTEREC_LANGGRAPH_VENV) and install only what the lock changed.
The LLM is a scripted OpenAI-compatible server on loopback, so nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.integration.fake_openai_stream import streaming_fake_openai
from tests.integration.serving_support import free_port

pytestmark = pytest.mark.slow
LOCK = ROOT / "requirements-langgraph.lock"
PIP_VERSION = "26.3"


def _pip(venv: Path, *args: str) -> None:
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *args], check=True, cwd=ROOT)


def ensure_venv() -> Path:
    """The langgraph-dev venv, installed exactly from its lock (no resolver). It is reused: when the lock
    changed, pip installs only the pins that differ (the stamp records the lock's hash)."""
    tag = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:10]
    venv = Path(os.environ.get("INTEREC_LANGGRAPH_VENV") or Path.home() / ".cache" / "interec" / "venv-langgraph")
    stamp = venv / ".installed"
    if not (stamp.exists() and stamp.read_text() == tag):
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        _pip(venv, f"pip=={PIP_VERSION}")
        _pip(venv, "--no-deps", "-r", str(LOCK))
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "check"], check=True)
        stamp.write_text(tag)
    _pip(venv, "--no-deps", "--no-build-isolation", "-e", str(ROOT))  # this checkout's code (seconds)
    return venv


def wait_ok(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"langgraph dev exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"langgraph dev did not answer /ok in {timeout:.0f} s:\n{log.read_text()[-4000:]}")


def run(c: httpx.Client, thread: str, text: str) -> dict[str, Any]:
    r = c.post(f"/threads/{thread}/runs/wait", json={
        "assistant_id": "interec", "input": {"messages": [{"type": "human", "content": text}]},
        "config": {"configurable": {"user_id": "alice", "mode": "accuracy"}}})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_langgraph_dev_serves_the_graph(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    venv = ensure_venv()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "langgraph-dev.log"
    with streaming_fake_openai() as llm:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INTEREC_", "VIRTUAL_ENV"))}
        env.update({"INTEREC_DOMAIN": "data/movielens", "INTEREC_ARTIFACTS": str(ml_domain_indexed.artifacts.parent),
                    "INTEREC_MEMORY_DIR": str(tmp_path / "memory"), "INTEREC_LLM_PROVIDER": "openai",
                    "INTEREC_LLM_BASE_URL": llm.url, "INTEREC_LLM_API_KEY": "sk-test", "INTEREC_LLM_MODEL": "fake",
                    "LANGSMITH_TRACING": "false", "LANGGRAPH_CLI_NO_ANALYTICS": "1", "HF_HUB_OFFLINE": "1",
                    "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}"})
        with log.open("wb") as out:
            proc = subprocess.Popen([str(venv / "bin" / "langgraph"), "dev", "--no-browser", "--host", "127.0.0.1",
                                     "--port", str(port), "--config", str(ROOT / "langgraph.json"), "--no-reload"],
                                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_ok(proc, url, log)
            with httpx.Client(base_url=url, timeout=300) as c:
                assistants = c.post("/assistants/search", json={"graph_id": "interec"}).json()
                assert [a["graph_id"] for a in assistants][:1] == ["interec"], assistants
                thread = c.post("/threads", json={}).json()["thread_id"]
                first = run(c, thread, "I loved Toy Story, a comedy please")
                assert first["items"], first
                assert all("Comedy" in ml_domain_indexed.items.loc[i["iid"], "genres"] for i in first["items"])
                reply = first["messages"][-1]
                assert reply["type"] == "ai" and first["items"][0]["title"].rsplit(" (", 1)[0] in reply["content"]
                second = run(c, thread, "another comedy")  # the server's own checkpointer keeps the thread
                humans = [m["content"] for m in second["messages"] if m["type"] == "human"]
                assert humans == ["I loved Toy Story, a comedy please", "another comedy"]
                state = c.get(f"/threads/{thread}/state").json()
                assert len(state["values"]["messages"]) == 4
                assert llm.requests.count("reply") == 2  # both answers written by the (fake) LLM
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    print(f"\nlanggraph dev: 2 runs on thread {thread} completed; log {log}")
