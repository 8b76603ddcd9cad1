"""Profiles in a `chroma run` server (started by the test on 127.0.0.1): two app instances, as two stateless
workers would, share one user's profile, and users stay apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memory.profile import COLLECTION, ProfileStore
from models.chroma import chroma_client
from tests.integration.serving_support import (
    COMEDY_PLAN,
    StreamingScriptedLLM,
    chroma_cli,
    client_for,
    free_port,
    make_app,
    shared_deps,
    start_chroma,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fresh_sse")]
KEYS = {"ka": "ann", "kb": "ben"}


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    cli = chroma_cli()
    if cli is None:
        pytest.skip("the `chroma` command (from the chromadb wheel) is not installed")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = start_chroma(cli, data, port)
    try:
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def test_profiles_live_in_the_chroma_server(chroma_server: tuple[str, int], ml_domain_indexed, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    host, port = chroma_server
    deps = shared_deps(ml_domain_indexed, tmp_path)
    monkeypatch.setenv("INTEREC_CHROMA_HOST", host)
    monkeypatch.setenv("INTEREC_CHROMA_PORT", str(port))
    server = chroma_client(tmp_path / "ignored")  # the env switches every store to the server
    assert type(server).__name__ != "PersistentClient" and server.heartbeat() > 0
    assert not (tmp_path / "ignored").exists()
    deps.profiles = ProfileStore(deps.profiles.embedder)  # what make_deps builds with the env set

    plan = {**COMEDY_PLAN, "like": ["Toy Story"], "dislike": ["Titanic"]}
    llm = StreamingScriptedLLM(plans=[plan, COMEDY_PLAN])
    worker1, worker2 = make_app(deps, llm, api_keys=KEYS), make_app(deps, llm, api_keys=KEYS)
    async with client_for(worker1) as c1, client_for(worker2) as c2:
        assert (await c1.get("/health")).json()["chroma"] == f"server {host}:{port}"
        r = await c1.post("/chat", json={"message": "I loved Toy Story but not Titanic; a comedy"}, headers={"X-API-Key": "ka"})
        assert r.status_code == 200
        ann = (await c2.get("/profile", headers={"X-API-Key": "ka"})).json()  # the other worker sees it
        assert ann["like"] == ["Toy Story (1995)"] and ann["dislike"] == ["Titanic (1997)"]
        assert (await c2.get("/profile", headers={"X-API-Key": "kb"})).json()["like"] == []

    stored = server.get_collection(COLLECTION).get(where={"user_id": "ann"}, include=["metadatas"])
    assert sorted(m["value"] for m in stored["metadatas"]) == ["Titanic (1997)", "Toy Story (1995)"]
    assert {m["domain"] for m in stored["metadatas"]} == {"movielens"}
