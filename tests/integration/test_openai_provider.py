"""The remote-provider path against a loopback fake OpenAI server: request shape, retries, timeouts, errors."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import Field

from models.llm import LLMConfigError, LLMOutputError, LLMSettings, LLMUnavailable
from models.llm_factory import get_chat_model
from models.structured import CallCounter, StrictModel, astructured_call, json_schema_for, structured_call


class Mood(StrEnum):
    happy = "happy"
    sad = "sad"


class Verdict(StrictModel):
    """A mood verdict."""

    mood: Mood
    reason: str = Field(max_length=80)
    score: int | None = None


GOOD = {"mood": "happy", "reason": "sunny", "score": 3}


@dataclass
class Script:
    """What the fake server does; the tests mutate it."""

    status: list[int] = field(default_factory=list)  # statuses to return first, then 200
    content: str = json.dumps(GOOD)
    hang: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            script.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            if script.hang:
                script.release.wait(script.hang)
                return
            if script.status:
                status = script.status.pop(0)
                return self._send(status, {"error": {"message": f"scripted {status}", "type": "server_error"}})
            self._send(200, {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": body.get("model", "x"),
                "choices": [{
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": script.content},
                }],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
                          "prompt_tokens_details": {"cached_tokens": 5}},
            })

    return Handler


@pytest.fixture
def fake() -> Iterator[tuple[str, Script]]:
    script = Script()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        script.release.set()
        server.shutdown()
        server.server_close()


def settings(url: str, **kw: Any) -> LLMSettings:
    values: dict[str, Any] = dict(
        provider="openai", base_url=f"{url}/v1", api_key="sk-test", model="gpt-test",
        timeout=5.0, max_retries=2, retry_backoff=0.01,
    )
    values.update(kw)
    return LLMSettings(**values)


MESSAGES = [("system", "Classify the mood."), ("user", "What a lovely day!")]


def test_request_shape_and_parsed_object(fake: tuple[str, Script]) -> None:
    url, script = fake
    verdict = structured_call(get_chat_model(settings(url)), Verdict, MESSAGES)
    assert verdict == Verdict(mood=Mood.happy, reason="sunny", score=3)
    (req,) = script.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["authorization"] == "Bearer sk-test"
    body = req["body"]
    assert body["model"] == "gpt-test"
    assert body["temperature"] == 0
    assert body["messages"] == [
        {"role": "system", "content": "Classify the mood."},
        {"role": "user", "content": "What a lovely day!"},
    ]
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Verdict"
    assert fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema == json_schema_for(Verdict, all_required=True)
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["mood", "reason", "score"]  # OpenAI strict: every property required
    assert schema["properties"]["mood"]["enum"] == ["happy", "sad"]  # $ref inlined
    assert "$defs" not in json.dumps(schema)


def test_call_counter_counts_calls_and_tokens(fake: tuple[str, Script]) -> None:
    url, _ = fake
    counter = CallCounter()
    llm = get_chat_model(settings(url))
    for _ in range(2):
        structured_call(llm, Verdict, MESSAGES, config={"callbacks": [counter]})
    snap = counter.snapshot()
    assert snap["calls"] == 2 and snap["errors"] == 0
    assert (snap["prompt_tokens"], snap["completion_tokens"], snap["cached_tokens"]) == (22, 14, 10)
    assert len(snap["latencies_s"]) == 2


def test_500_is_retried_then_unavailable(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.status = [500] * 10
    counter = CallCounter()
    with pytest.raises(LLMUnavailable) as err:
        structured_call(get_chat_model(settings(url)), Verdict, MESSAGES, config={"callbacks": [counter]})
    assert len(script.requests) == 3  # 1 + max_retries
    msg = str(err.value)
    assert f"{url}/v1" in msg and "HTTP 500" in msg and "3 attempts" in msg
    assert counter.snapshot()["errors"] == 1


def test_transient_503_recovers(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.status = [503, 502]
    assert structured_call(get_chat_model(settings(url)), Verdict, MESSAGES).mood is Mood.happy
    assert len(script.requests) == 3


def test_plain_invoke_also_raises_llm_unavailable(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.status = [500] * 10
    with pytest.raises(LLMUnavailable):
        get_chat_model(settings(url, max_retries=0)).invoke("hi")
    assert len(script.requests) == 1


def test_hanging_server_times_out(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.hang = 10.0
    start = time.monotonic()
    with pytest.raises(LLMUnavailable) as err:
        structured_call(get_chat_model(settings(url, timeout=0.3, max_retries=1)), Verdict, MESSAGES)
    assert time.monotonic() - start < 3.0
    assert "did not answer within 0.3 s" in str(err.value) and url in str(err.value)
    assert len(script.requests) == 2  # remote timeouts are retried once


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(LLMUnavailable) as err:
        structured_call(get_chat_model(settings(url)), Verdict, MESSAGES)
    assert f"{url}/v1 is unreachable" in str(err.value) and "3 attempts" in str(err.value)


def test_missing_key_is_a_config_error() -> None:
    with pytest.raises(LLMConfigError, match="OPENAI_API_KEY"):
        get_chat_model(LLMSettings(provider="openai", api_key=None))
    with pytest.raises(LLMConfigError, match="OPENAI_API_KEY"):
        get_chat_model(LLMSettings.from_env({"INTEREC_LLM_PROVIDER": "openai"}))


def test_bad_provider_is_a_config_error() -> None:
    with pytest.raises(LLMConfigError, match="Unknown LLM provider 'antropic'"):
        LLMSettings.from_env({"INTEREC_LLM_PROVIDER": "antropic"})


def test_rejected_key_is_a_config_error(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.status = [401]
    with pytest.raises(LLMConfigError, match="rejected the API key"):
        structured_call(get_chat_model(settings(url)), Verdict, MESSAGES)
    assert len(script.requests) == 1  # 4xx is not retried


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("this is not json {", "Invalid JSON"),
        (json.dumps({"mood": "angry", "reason": "x", "score": None}), "mood"),
        (json.dumps({**GOOD, "extra": 1}), "extra"),
    ],
)
def test_bad_output_is_an_output_error(fake: tuple[str, Script], content: str, fragment: str) -> None:
    url, script = fake
    script.content = content
    with pytest.raises(LLMOutputError) as err:
        structured_call(get_chat_model(settings(url)), Verdict, MESSAGES)
    assert err.value.raw == content
    assert fragment in str(err.value) and "Verdict" in str(err.value)
    assert len(script.requests) == 1  # output errors are not retried by the transport


def test_async_structured_call(fake: tuple[str, Script]) -> None:
    url, script = fake
    verdict = asyncio.run(astructured_call(get_chat_model(settings(url)), Verdict, MESSAGES))
    assert verdict.reason == "sunny"
    script.status = [500] * 10
    with pytest.raises(LLMUnavailable):
        asyncio.run(astructured_call(get_chat_model(settings(url)), Verdict, MESSAGES))


def test_azure_request_shape(fake: tuple[str, Script]) -> None:
    url, script = fake
    s = LLMSettings.from_env({
        "INTEREC_LLM_PROVIDER": "azure",
        "AZURE_OPENAI_ENDPOINT": url,
        "AZURE_OPENAI_API_KEY": "az-key",
        "INTEREC_LLM_AZURE_DEPLOYMENT": "my-dep",
        "INTEREC_LLM_RETRY_BACKOFF": "0.01",
    })
    assert structured_call(get_chat_model(s), Verdict, MESSAGES).score == 3
    (req,) = script.requests
    assert req["path"].startswith("/openai/deployments/my-dep/chat/completions?api-version=")
    assert req["headers"]["api-key"] == "az-key"
    assert req["body"]["response_format"]["json_schema"]["strict"] is True


def test_azure_missing_settings_named() -> None:
    with pytest.raises(LLMConfigError, match="INTEREC_LLM_AZURE_DEPLOYMENT"):
        get_chat_model(LLMSettings(provider="azure", api_key="k", azure_endpoint="http://127.0.0.1:1"))
