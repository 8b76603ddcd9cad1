"""LLM layer without a model: settings from env, schema shaping, output parsing, model-file assembly."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from enum import StrEnum
from pathlib import Path

import pytest
from langchain_core.language_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field

from models import local_llm
from models.llm import LLMConfigError, LLMOutputError, LLMSettings
from models.structured import StrictModel, json_schema_for, parse_output, structured_call


class Color(StrEnum):
    red = "red"
    blue = "blue"


class Inner(StrictModel):
    color: Color


class Outer(StrictModel):
    """Top-level schema with a nested model, an optional field and a list."""

    inner: Inner
    tags: list[str] = Field(default_factory=list, max_length=3)
    note: str | None = None


def test_importing_llm_is_cheap() -> None:
    code = (
        "import sys, models.llm; "
        "bad = [m for m in ('xllamacpp', 'torch', 'langchain_openai', 'openai') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_settings_defaults_and_fallbacks() -> None:
    s = LLMSettings.from_env({})
    assert (s.provider, s.timeout, s.max_retries, s.ctx, s.temperature) == ("local", 120.0, 2, 4096, 0.0)
    assert s.threads >= 1 and s.cache_dir == Path("~/.cache/interec/models").expanduser()
    r = LLMSettings.from_env({
        "INTEREC_LLM_PROVIDER": "OpenAI", "OPENAI_BASE_URL": "http://h/v1", "OPENAI_API_KEY": "sk-secret",
        "INTEREC_LLM_THREADS": "3", "INTEREC_MODEL_CACHE": "/tmp/mc", "INTEREC_LLM_MAX_RETRIES": "0",
    })
    assert (r.provider, r.timeout, r.base_url, r.api_key, r.threads, r.max_retries) == (
        "openai", 60.0, "http://h/v1", "sk-secret", 3, 0)
    assert r.cache_dir == Path("/tmp/mc")
    assert "sk-secret" not in repr(r)  # the key never lands in logs
    both = LLMSettings.from_env({"INTEREC_LLM_API_KEY": "mine", "OPENAI_API_KEY": "theirs", "INTEREC_LLM_TIMEOUT": "7"})
    assert (both.api_key, both.timeout) == ("mine", 7.0)


@pytest.mark.parametrize("name, value", [("INTEREC_LLM_TIMEOUT", "soon"), ("INTEREC_LLM_CTX", "-1")])
def test_bad_numbers_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(LLMConfigError, match=name):
        LLMSettings.from_env({name: value})


def test_schema_strict_vs_local() -> None:
    strict = json_schema_for(Outer, all_required=True)
    assert strict["required"] == ["inner", "tags", "note"]
    assert strict["additionalProperties"] is False
    inner = strict["properties"]["inner"]
    assert inner["additionalProperties"] is False and inner["properties"]["color"]["enum"] == ["red", "blue"]
    assert "default" not in strict["properties"]["note"]
    assert strict["properties"]["tags"]["maxItems"] == 3
    local = json_schema_for(Outer, all_required=False)
    assert local["required"] == ["inner"]  # optional fields stay optional: no tokens spent on defaults
    assert local["properties"]["inner"]["required"] == ["color"]


def test_recursive_schema_is_refused() -> None:
    class Node(BaseModel):
        children: list[Node] = []

    with pytest.raises(ValueError, match="recursive"):
        json_schema_for(Node)


def test_parse_output_errors_carry_raw_text() -> None:
    assert parse_output(Inner, AIMessage(content='{"color": "red"}')).color is Color.red
    assert parse_output(Inner, AIMessage(content='```json\n{"color": "red"}\n```')).color is Color.red
    with pytest.raises(LLMOutputError) as err:
        parse_output(Inner, AIMessage(content='{"color": "green"}'))
    assert err.value.raw == '{"color": "green"}' and "color" in str(err.value)
    cut = AIMessage(content='{"color": "r', response_metadata={"finish_reason": "length"})
    with pytest.raises(LLMOutputError, match="cut off"):
        parse_output(Inner, cut)
    long = "x" * 2000
    with pytest.raises(LLMOutputError) as err:
        parse_output(Inner, AIMessage(content=long))
    assert len(str(err.value)) < 1000 and err.value.raw == long


def test_structured_call_accepts_plain_fake_models() -> None:
    fake = FakeMessagesListChatModel(responses=[AIMessage(content='{"inner": {"color": "blue"}}')])
    assert structured_call(fake, Outer, "pick").inner.color is Color.blue


def _parts(tmp_path: Path) -> tuple[list[Path], bytes]:
    chunks = [b"alpha-", b"beta-", b"gamma"]
    paths = []
    for i, chunk in enumerate(chunks):
        paths.append(tmp_path / f"part{i}.bin")
        paths[-1].write_bytes(chunk)
    return paths, b"".join(chunks)


def test_assemble_verifies_and_renames_atomically(tmp_path: Path) -> None:
    parts, whole = _parts(tmp_path)
    cache = tmp_path / "cache"
    out = local_llm.assemble_model(
        cache, parts, filename="m.gguf", sha256=hashlib.sha256(whole).hexdigest(), size=len(whole)
    )
    assert out == cache / "m.gguf" and out.read_bytes() == whole
    assert sorted(p.name for p in cache.iterdir()) == ["m.gguf"]  # no temp file left behind
    parts[0].write_bytes(b"ALPHA-")  # warm start trusts a file of the right size without re-hashing
    assert local_llm.assemble_model(cache, parts, filename="m.gguf", sha256="0" * 64, size=len(whole)) == out


def test_assemble_rejects_a_bad_checksum(tmp_path: Path) -> None:
    parts, whole = _parts(tmp_path)
    cache = tmp_path / "cache"
    with pytest.raises(LLMConfigError, match="failed verification"):
        local_llm.assemble_model(cache, parts, filename="m.gguf", sha256="0" * 64, size=len(whole))
    assert list(cache.iterdir()) == []


def test_missing_parts_say_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_llm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(local_llm.LocalModelNotInstalled, match="make install"):
        local_llm.part_files()


def test_missing_runtime_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # makes `import xllamacpp` fail
    monkeypatch.setattr(local_llm, "_INFO", None)
    with pytest.raises(local_llm.LocalModelNotInstalled, match="make install"):
        local_llm.ensure_local_server(LLMSettings())


def test_saved_prompt_caches_are_pruned_least_recently_used_first(tmp_path: Path) -> None:
    import os

    from models.local_llm import prune_slots

    for i in range(5):
        f = tmp_path / f"plan-{i}.bin"
        f.write_bytes(b"x")
        os.utime(f, (1000 + i, 1000 + i))
    os.utime(tmp_path / "plan-0.bin", (2000, 2000))  # the oldest save, restored last: kept
    (tmp_path / "other-9.bin").write_bytes(b"x")  # another kind is not touched
    gone = prune_slots(tmp_path, "plan", keep=3)
    assert sorted(f.name for f in gone) == ["plan-1.bin", "plan-2.bin"]
    assert sorted(f.name for f in tmp_path.iterdir()) == ["other-9.bin", "plan-0.bin", "plan-3.bin", "plan-4.bin"]
