"""The natural conversations the latency and call-count benchmarks read: enough of them, on every catalog,
none in the planner's demos; and the turn runner records every turn of them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from evals.turn_runner import load_conversations, run_conversations

ROOT = Path(__file__).resolve().parents[2]


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


def test_conversations_cover_three_catalogs_and_avoid_the_demos() -> None:
    convs = load_conversations()
    assert len(convs) >= 30
    by_domain: dict[str, int] = {}
    for c in convs:
        by_domain[c["domain"]] = by_domain.get(c["domain"], 0) + 1
        assert len(c["turns"]) >= 2 and any(t["kind"] == "rec" for t in c["turns"])
    assert set(by_domain) == {"movielens", "lastfm", "store"} and min(by_domain.values()) >= 8
    assert len({c["id"] for c in convs}) == len(convs)
    demos = set()
    for path in (ROOT / "prompts" / "demos").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                demos.add(_norm(json.loads(line)["request"].replace("{item}", "movie")))
    texts = [_norm(t["text"]) for c in convs for t in c["turns"]]
    assert not [t for t in texts if t in demos]
    assert len(load_conversations("lastfm")) == by_domain["lastfm"]


def test_bad_conversation_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_text('{"id": "a", "domain": "d", "turns": [{"kind": "rec", "text": "hi"}]}\n')
    with pytest.raises(ValueError, match=r"x.jsonl:1: a conversation needs"):
        load_conversations(folder=tmp_path)


class _FakeGraph:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def invoke(self, inp: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
        self.seen.append((cfg["configurable"]["thread_id"], inp["messages"][0].content))
        return {"llm_calls": 2, "attempts": 1, "items": [1, 2, 3]}


def test_turn_runner_reads_the_agents_domain() -> None:
    graph = _FakeGraph()
    agent = SimpleNamespace(deps=SimpleNamespace(domain=SimpleNamespace(name="store")), graph=graph,
                            config=lambda thread, user: {"configurable": {"thread_id": thread, "user_id": user}})
    recs = run_conversations(agent, limit=2)  # type: ignore[arg-type]
    store = load_conversations("store")[:2]
    assert [text for _, text in graph.seen] == [t["text"] for c in store for t in c["turns"]]
    assert len({thread for thread, _ in graph.seen}) == 2  # a fresh thread per conversation
    assert [(r.conversation, r.turn, r.llm_calls, r.items) for r in recs][:2] == [(0, 0, 2, 3), (0, 1, 2, 3)]
