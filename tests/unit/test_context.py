"""One Context: a bad mode, style or rank gets the same message from the graph, the CLI, the HTTP API and MCP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

import app
from graph.context import Context, SettingError, check
from serving.auth import Identity
from serving.mcp_server import ChatArgs
from serving.routes_chat import ChatRequest
from serving.runtime import Runtime

MESSAGE = "mode must be one of accuracy, diversity (got 'fast')"


def test_the_graph_refuses_a_bad_setting_with_the_message() -> None:
    with pytest.raises(SettingError) as e:
        Context.from_config({"configurable": {"mode": "fast"}})
    assert str(e.value) == MESSAGE
    got = Context.from_config({"configurable": {"user_id": "ann", "reply_style": "detailed", "rank": "doke"}})
    assert (got.user_id, got.mode, got.style, got.rank) == ("ann", "accuracy", "detailed", "doke")
    with pytest.raises(SettingError, match=r"rank must be one of tools, doke, gen \(got 'fancy'\)"):
        check("rank", "fancy")


def test_the_cli_says_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        app.build_parser().parse_args(["chat", "--mode", "fast"])
    assert e.value.code == 2
    assert MESSAGE in capsys.readouterr().err
    args = app.build_parser().parse_args(["chat", "--style", "detailed", "--rank", "gen"])
    assert (args.mode, args.style, args.rank) == ("accuracy", "detailed", "gen")


def test_the_http_api_says_the_same() -> None:
    api = FastAPI()

    @api.post("/chat")
    def chat(req: ChatRequest) -> dict[str, Any]:  # the real request model, validated by FastAPI
        return {"mode": req.mode}

    client = TestClient(api)
    r = client.post("/chat", json={"message": "hi", "mode": "fast"})
    assert r.status_code == 422 and MESSAGE in r.json()["detail"][0]["msg"]
    assert client.post("/chat", json={"message": "hi", "mode": "diversity"}).json() == {"mode": "diversity"}
    schema = api.openapi()["components"]["schemas"]["ChatRequest"]["properties"]["mode"]
    assert schema.get("enum") == ["accuracy", "diversity"]  # clients (and schemathesis) still see the choices


def test_langserve_config_and_mcp_say_the_same() -> None:
    class _Agent:
        class deps:  # noqa: N801 - the attribute path Runtime reads
            class domain:  # noqa: N801
                name = "movielens"

    rt = Runtime(_Agent(), settings=None)  # type: ignore[arg-type]
    with pytest.raises(HTTPException) as e:
        rt.run_config(Identity("ann"), "t1", mode="fast")
    assert e.value.status_code == 422 and e.value.detail == MESSAGE
    with pytest.raises(ValueError, match=MESSAGE.replace("(", r"\(").replace(")", r"\)")):
        ChatArgs(message="hi", mode="fast")  # type: ignore[arg-type]
