"""The embedded local model for real: verified assembly, one structured call, one server per process."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from models import local_llm
from models.llm import LLMSettings
from models.llm_factory import get_chat_model
from models.structured import CallCounter, StrictModel, structured_call

pytestmark = [pytest.mark.slow, pytest.mark.ci]


class Intent(StrEnum):
    recommend = "recommend"
    fact = "fact"
    chat = "chat"


class Route(StrictModel):
    """A routing decision."""

    intent: Intent
    genres: list[str] = Field(default_factory=list, max_length=2)


@pytest.fixture(scope="module")
def settings() -> LLMSettings:
    return LLMSettings.from_env(provider="local")


@pytest.fixture(scope="module")
def owned() -> bool:
    """Whether this module starts the server (so it may stop it); another module may have started it."""
    return local_llm.local_server_info() is None


@pytest.fixture(scope="module")
def llm(settings: LLMSettings, owned: bool) -> Iterator[object]:
    yield get_chat_model(settings)
    if owned:
        local_llm.shutdown_local_server()


def test_assembly_verifies_sha256(tmp_path: Path) -> None:
    out = local_llm.assemble_model(tmp_path)  # cold path: concatenate, hash, rename
    try:
        assert out.stat().st_size == local_llm.MODEL_SIZE
        digest = hashlib.sha256()
        with out.open("rb") as f:
            while chunk := f.read(8 << 20):
                digest.update(chunk)
        assert digest.hexdigest() == local_llm.MODEL_SHA256
        assert [p.name for p in tmp_path.iterdir()] == [local_llm.MODEL_FILE]
    finally:
        out.unlink(missing_ok=True)  # 1.1 GB: do not leave it in pytest's kept temp dirs


def test_structured_call_returns_valid_object(llm: object) -> None:
    counter = CallCounter()
    route = structured_call(
        llm,  # type: ignore[arg-type]
        Route,
        [
            ("system", "Decide the intent of a movie-recommender request: recommend, fact or chat. "
                       'Example: "any good horror films?" -> {"intent": "recommend", "genres": ["Horror"]}'),
            ("user", "recommend three comedies from the 90s"),
        ],
        config={"callbacks": [counter]},
    )
    assert isinstance(route, Route) and isinstance(route.intent, Intent)
    assert route.intent is Intent.recommend
    snap = counter.snapshot()
    assert snap["calls"] == 1 and snap["completion_tokens"] > 0


def test_server_is_started_once(llm: object, settings: LLMSettings) -> None:
    info = local_llm.local_server_info()
    assert info is not None and info.base_url.startswith("http://127.0.0.1:")
    starts = local_llm.local_server_starts()
    again = get_chat_model(settings)
    assert local_llm.ensure_local_server(settings) is info
    assert again.openai_api_base == info.base_url  # type: ignore[attr-defined]
    assert local_llm.local_server_starts() == starts


def test_a_prompt_cache_is_saved_and_restored(llm: Any, settings: LLMSettings) -> None:
    """What the planner's warm-up relies on: a prefix read once on this machine is loaded back from disk."""
    from langchain_core.messages import HumanMessage, SystemMessage

    llm.bind(max_tokens=1).invoke([SystemMessage("You answer in one word."), HumanMessage("Say yes.")])
    name = local_llm.slot_name("test", "prompt-cache-check")
    path = settings.cache_dir / local_llm.SLOTS_DIR / name
    try:
        assert local_llm.slot_cache(name, "save") > 0 and path.is_file()
        assert local_llm.slot_cache(name, "restore") > 0
    finally:
        path.unlink(missing_ok=True)
    assert local_llm.slot_cache(name, "restore") == 0  # no file: the caller reads the prefix itself
    assert local_llm.slot_name("plan", "a") != local_llm.slot_name("plan", "b")


SHUTDOWN_CHECK = """
import socket
from models import local_llm
from models.llm import LLMSettings
info = local_llm.ensure_local_server(LLMSettings.from_env(provider="local"))
port = int(info.base_url.rsplit(":", 1)[1].split("/")[0])
socket.create_connection(("127.0.0.1", port), timeout=5).close()  # up
assert local_llm.shutdown_local_server() is True
assert local_llm.local_server_info() is None
try:
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    raise SystemExit("port still open after shutdown")
except OSError:
    pass
assert local_llm.shutdown_local_server() is False
print("closed", port)
"""


def test_shutdown_closes_the_port() -> None:
    """In its own process, so it never depends on (or skips because of) a server another module started."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", SHUTDOWN_CHECK], cwd=root, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("closed ")
