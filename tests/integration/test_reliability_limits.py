"""Input limits through the API and the CLI: every bad input gets one clear message and changes nothing
(checkpoint rows, the thread's messages and the profile are compared before and after)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import models.llm_factory
from app import run
from graph.deps import AgentDeps
from tests.conftest import ROOT
from tests.fakes import ScriptedLLM
from tests.integration.serving_support import (
    COMEDY_PLAN,
    StreamingScriptedLLM,
    client_for,
    make_app,
    shared_deps,
)

KEYS = {"key-dora": "dora"}
DORA = {"X-API-Key": "key-dora"}


@pytest.fixture(scope="module")
def deps(ml_domain_indexed, tmp_path_factory: pytest.TempPathFactory) -> AgentDeps:  # type: ignore[no-untyped-def]
    return shared_deps(ml_domain_indexed, tmp_path_factory.mktemp("limits"))


def rows(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as con:
        return (int(con.execute("SELECT count(*) FROM checkpoints").fetchone()[0]),
                int(con.execute("SELECT count(*) FROM writes").fetchone()[0]))


def chat(message: Any, thread: str = "t1") -> dict[str, Any]:
    return {"message": message, "thread_id": thread}


def invoke(content: Any) -> dict[str, Any]:
    return {"input": {"messages": [{"type": "human", "content": content}]}}


# (route, raw body or JSON, expected status, expected words in the detail)
CASES: list[tuple[str, Any, int, str]] = [
    ("/chat", chat(""), 400, "the message is empty"),
    ("/chat", chat(" \n\t  "), 400, "the message is empty"),
    ("/chat", chat("\x1b[31m\x1b[0m\u200b"), 400, "the message is empty"),
    ("/chat/stream", chat("   "), 400, "the message is empty"),
    ("/chat", chat("z" * 201), 400, "the limit is 200"),
    ("/chat/stream", chat("z" * 201), 400, "the limit is 200"),
    ("/chat", b'{"message": "caf\xe9 \xff\xfe", "thread_id": "t1"}', 400, "error parsing the body"),
    ("/chat", b'{"message": "lone \\ud800 surrogate", "thread_id": "t1"}', 400, "not valid UTF-8"),
    ("/chat/stream", b'{"message": "lone \\udcff", "thread_id": "t1"}', 400, "not valid UTF-8"),
    ("/chat", chat(None), 422, "message"),
    ("/chat", chat(["a", "list"]), 422, "message"),
    ("/chat", {"thread_id": "t1"}, 422, "message"),
    ("/chat", b"not json at all", 422, "json"),
    ("/chat", chat("hi", "../t1"), 422, "invalid thread id"),
    ("/chat", chat("hi", "x" * 65), 422, "invalid thread id"),
    ("/chat", {**chat("hi"), "mode": "chaos"}, 422, "mode"),
    ("/chat", chat("w" * 70_000), 413, "too large"),
    ("/agent/invoke", invoke(""), 400, "the message is empty"),
    ("/agent/invoke", invoke("z" * 201), 400, "the limit is 200"),
    ("/agent/invoke", b'{"input": {"messages": [{"type": "human", "content": "\\ud800"}]}}', 400, "not valid UTF-8"),
    ("/agent/invoke", invoke("q" * 70_000), 413, "too large"),
]


@pytest.mark.anyio
@pytest.mark.usefixtures("fresh_sse")
async def test_bad_requests_are_refused_and_change_nothing(deps: AgentDeps, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTEREC_MAX_MESSAGE_CHARS", "200")
    db = tmp_path / "threads.sqlite"
    app = make_app(deps, StreamingScriptedLLM(plans=[{**COMEDY_PLAN, "like": ["Toy Story"]}]), api_keys=KEYS,
                   checkpoint_url=f"sqlite:///{db}", max_body_bytes=64 * 1024)
    async with client_for(app) as c:
        r = await c.post("/chat", json=chat("I loved Toy Story; a comedy"), headers=DORA)
        assert r.status_code == 200
        thread, profile, before = (await c.get("/threads/t1", headers=DORA)).json(), \
            (await c.get("/profile", headers=DORA)).json(), rows(db)
        for route, body, status, words in CASES:
            kw: dict[str, Any] = {"content": body, "headers": {**DORA, "content-type": "application/json"}} \
                if isinstance(body, bytes) else {"json": body, "headers": DORA}
            kw["headers"] = {**kw["headers"], "X-Thread-Id": "t1"}
            r = await c.post(route, **kw)
            assert r.status_code == status, (route, str(body)[:60], r.status_code, r.text[:200])
            assert words.lower() in r.text.lower(), (route, str(body)[:60], r.text[:300])
            assert "Traceback" not in r.text
        # the unknown thread: reading it is a clear 404; nothing was created by asking
        r = await c.get("/threads/never-used", headers=DORA)
        assert r.status_code == 404 and r.json()["detail"] == "no conversation 'never-used' for this user"
        assert rows(db) == before
        assert (await c.get("/threads/t1", headers=DORA)).json() == thread
        assert (await c.get("/profile", headers=DORA)).json() == profile


@pytest.fixture
def cli_env(deps: AgentDeps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`app.py chat --once` in process, with a scripted LLM and its own memory dir."""
    monkeypatch.setenv("INTEREC_MEMORY_DIR", str(tmp_path))
    monkeypatch.setenv("INTEREC_CHECKPOINT_URL", f"sqlite:///{tmp_path / 'threads.sqlite'}")
    monkeypatch.setenv("INTEREC_ARTIFACTS", str(deps.domain.artifacts.parent))
    monkeypatch.setenv("INTEREC_MAX_MESSAGE_CHARS", "200")
    monkeypatch.setattr(models.llm_factory, "get_chat_model", lambda *a, **k: ScriptedLLM(replies=["1. Toy Story - fun."]))
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["chat", "--domain", str(ROOT / "data" / "movielens"), "--no-build", "--once", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_refuses_bad_messages_and_changes_nothing(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "hello there", "--user", "dora", "--thread", "dora-1")
    assert code == 0 and "agent>" in out
    db = cli_env / "threads.sqlite"
    before = rows(db)
    threads_file = (cli_env / "chat_threads.json").read_bytes() if (cli_env / "chat_threads.json").exists() else b""
    for text, words in [("", "the message is empty"), ("   \t", "the message is empty"), ("\x1b[2J", "the message is empty"),
                        ("z" * 201, "the limit is 200"), ("caf\udce9", "not valid UTF-8 text")]:
        code, out, err = cli(capsys, text, "--user", "dora", "--thread", "dora-1")
        assert code == 2 and err.strip() == f"error: {err.strip().removeprefix('error: ')}" and words in err, (text, err)
        assert "agent>" not in out
    code, _, err = cli(capsys, "what did dora ask?", "--user", "eve", "--thread", "dora-1")  # not eve's thread
    assert code == 2 and "belongs to another user" in err
    assert rows(db) == before
    after = (cli_env / "chat_threads.json").read_bytes() if (cli_env / "chat_threads.json").exists() else b""
    assert after == threads_file


def test_cli_unknown_domain_and_undecodable_argv_are_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "INTEREC_MEMORY_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1", "LANGSMITH_TRACING": "false",
           "INTEREC_LLM_PROVIDER": "openai", "INTEREC_LLM_API_KEY": "sk-x", "INTEREC_LLM_BASE_URL": "http://127.0.0.1:9/v1"}
    for argv in (["chat", "--domain", str(tmp_path / "nowhere"), "--once", "hi"],
                 ["serve", "--domain", str(tmp_path / "nowhere")],
                 ["info", "--domain", str(tmp_path / "nowhere")]):
        p = subprocess.run([sys.executable, "app.py", *argv], cwd=ROOT, env=env, capture_output=True, timeout=120)
        err = p.stderr.decode()
        assert p.returncode == 2 and err.startswith("error: ") and "Traceback" not in err, (argv, err[-500:])
        assert len(err.strip().splitlines()) == 1 and "nowhere" in err
    # raw non-UTF-8 bytes in argv (Python hands them over as lone surrogates)
    p = subprocess.run([sys.executable, "app.py", "chat", "--no-build", "--once", b"caf\xe9 \xff"], cwd=ROOT,
                       env={**env, "INTEREC_ARTIFACTS": str(tmp_path / "art")}, capture_output=True, timeout=300)
    assert p.returncode == 2 and p.stderr.decode() == "error: the message is not valid UTF-8 text\n"
    assert not (tmp_path / "threads.sqlite").exists()  # refused before anything was opened
