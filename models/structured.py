"""Structured LLM calls: a pydantic schema in, a validated pydantic object out, or one clear LLMError.

The schema goes out as a `json_schema` response_format (OpenAI structured outputs; llama.cpp turns it into
a grammar, so even the 1.5B local model emits valid JSON). We build the JSON schema ourselves, with $refs
inlined and `additionalProperties: false` everywhere: remote providers get OpenAI's strict form (every
property required), the local model keeps pydantic's optional fields so it does not spend tokens echoing
defaults. Validation happens here, on the raw text, so a failure can quote what the model said.
"""

from __future__ import annotations

import copy
import re
import threading
import time
from typing import Any, TypeVar
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import LLMResult
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, ValidationError

from models.llm import LLMError, LLMOutputError

T = TypeVar("T", bound=BaseModel)
RAW_LIMIT = 500
_FENCE = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)


class StrictModel(BaseModel):
    """Base for LLM output schemas: unknown keys are errors (matches additionalProperties: false)."""

    model_config = ConfigDict(extra="forbid")


def _inline_refs(node: Any, defs: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, list):
        return [_inline_refs(v, defs, seen) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            raise ValueError(f"recursive schema ({' -> '.join((*seen, name))}) is not supported")
        merged = {**copy.deepcopy(defs[name]), **{k: v for k, v in node.items() if k != "$ref"}}
        return _inline_refs(merged, defs, (*seen, name))
    return {k: _inline_refs(v, defs, seen) for k, v in node.items() if k != "$defs"}


def _tighten(node: Any, all_required: bool) -> Any:
    if isinstance(node, list):
        return [_tighten(v, all_required) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _tighten(v, all_required) for k, v in node.items()}
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = False
        props = out.get("properties", {})
        out["required"] = list(props) if all_required else [k for k in props if k in out.get("required", [])]
        if all_required:
            for prop in props.values():
                if isinstance(prop, dict) and prop.get("default", 0) is None:
                    prop.pop("default")
    return out


def json_schema_for(schema: type[BaseModel], *, all_required: bool = True) -> dict[str, Any]:
    """The JSON schema sent to the model: refs inlined, closed objects, OpenAI-strict when all_required."""
    raw = schema.model_json_schema()
    return _tighten(_inline_refs(raw, raw.get("$defs", {})), all_required)


def _response_format(schema: type[BaseModel], name: str | None, all_required: bool) -> dict[str, Any]:
    schema_name = re.sub(r"[^a-zA-Z0-9_-]", "_", name or schema.__name__)[:64]
    return {"name": schema_name, "schema": json_schema_for(schema, all_required=all_required), "strict": True}


def _text(message: BaseMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in message.content)


def _short(text: str) -> str:
    return text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT] + f"... [{len(text) - RAW_LIMIT} more chars]"


def parse_output(schema: type[T], message: BaseMessage) -> T:
    """Validate a model message against `schema`; LLMOutputError (quoting the raw text) if it does not fit."""
    text = _text(message).strip()
    refusal = message.additional_kwargs.get("refusal") if isinstance(message, AIMessage) else None
    if refusal:
        raise LLMOutputError(f"The model refused to answer in the {schema.__name__} format: {refusal}", text)
    finish = message.response_metadata.get("finish_reason")
    if finish == "length":
        raise LLMOutputError(
            f"The model's {schema.__name__} output was cut off at the token limit: {_short(text)!r}", text
        )
    fenced = _FENCE.fullmatch(text)  # endpoints that do not enforce the schema may fence their JSON
    try:
        return schema.model_validate_json(fenced.group(1) if fenced else text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise LLMOutputError(
            f"The model's output is not a valid {schema.__name__} ({problems}); raw: {_short(text)!r}", text
        ) from None


def _prepare(llm: BaseChatModel, schema: type[BaseModel], name: str | None) -> tuple[Any, bool]:
    """The runnable to call and whether it returns {"raw": AIMessage, ...} (structured) or a message."""
    from langchain_openai.chat_models.base import BaseChatOpenAI

    if not isinstance(llm, BaseChatOpenAI):
        return llm, False  # e.g. test fakes: call plainly, validate the text the same way
    all_required = getattr(llm, "interec_provider", "openai") != "local"
    fmt = _response_format(schema, name, all_required)
    return llm.with_structured_output(fmt, method="json_schema", strict=True, include_raw=True), True


def _finish(schema: type[T], out: Any, structured: bool) -> T:
    message = out["raw"] if structured else out
    if not isinstance(message, BaseMessage):
        raise LLMOutputError(f"The model returned no message for {schema.__name__}: {out!r}")
    return parse_output(schema, message)


def _translate(llm: BaseChatModel, exc: Exception) -> LLMError | None:
    from models.openai_chat import translate_error

    endpoint = getattr(llm, "interec_endpoint", "") or getattr(llm, "openai_api_base", None) or "the LLM endpoint"
    timeout = getattr(llm, "request_timeout", None)
    attempts = getattr(llm, "interec_attempts", 1)
    return translate_error(exc, endpoint, attempts, timeout if isinstance(timeout, int | float) else None)


def structured_call(
    llm: BaseChatModel,
    schema: type[T],
    messages: LanguageModelInput,
    *,
    name: str | None = None,
    config: RunnableConfig | None = None,
) -> T:
    """Ask `llm` for one `schema` object. Raises LLMUnavailable, LLMConfigError or LLMOutputError."""
    runnable, structured = _prepare(llm, schema, name)
    try:
        out = runnable.invoke(messages, config=config)
    except LLMError:
        raise
    except Exception as exc:
        err = _translate(llm, exc)
        if err is None:
            raise
        raise err from exc
    return _finish(schema, out, structured)


async def astructured_call(
    llm: BaseChatModel,
    schema: type[T],
    messages: LanguageModelInput,
    *,
    name: str | None = None,
    config: RunnableConfig | None = None,
) -> T:
    """Async twin of structured_call."""
    runnable, structured = _prepare(llm, schema, name)
    try:
        out = await runnable.ainvoke(messages, config=config)
    except LLMError:
        raise
    except Exception as exc:
        err = _translate(llm, exc)
        if err is None:
            raise
        raise err from exc
    return _finish(schema, out, structured)


class CallCounter(BaseCallbackHandler):
    """Counts chat-model calls, token usage and per-call latency (pass it in `config["callbacks"]`).

    Thread-safe; `reset()` between turns. Tokens are summed only where the provider reports usage;
    `cached_tokens` is the prompt prefix the server reused (llama.cpp and OpenAI both report it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: dict[UUID, float] = {}
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.calls = self.errors = 0
            self.prompt_tokens = self.completion_tokens = self.cached_tokens = 0
            self.latencies: list[float] = []
            self._started.clear()

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            self.calls += 1
            self._started[run_id] = time.perf_counter()

    def _done(self, run_id: UUID) -> None:
        start = self._started.pop(run_id, None)
        if start is not None:
            self.latencies.append(time.perf_counter() - start)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        usage: dict[str, Any] = {}
        for gens in response.generations:
            for gen in gens:
                meta = getattr(getattr(gen, "message", None), "usage_metadata", None)
                if meta:
                    usage = dict(meta)
        if not usage:  # fall back to the raw OpenAI usage block
            raw = (response.llm_output or {}).get("token_usage") or {}
            usage = {"input_tokens": raw.get("prompt_tokens", 0), "output_tokens": raw.get("completion_tokens", 0)}
            usage["input_token_details"] = {"cache_read": (raw.get("prompt_tokens_details") or {}).get("cached_tokens")}
        with self._lock:
            self._done(run_id)
            self.prompt_tokens += int(usage.get("input_tokens") or 0)
            self.completion_tokens += int(usage.get("output_tokens") or 0)
            self.cached_tokens += int((usage.get("input_token_details") or {}).get("cache_read") or 0)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            self.errors += 1
            self._done(run_id)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of the counters."""
        with self._lock:
            return {
                "calls": self.calls,
                "errors": self.errors,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cached_tokens": self.cached_tokens,
                "latencies_s": [round(x, 4) for x in self.latencies],
            }

