"""LLM backend settings and errors (the chat-model factory is models/llm_factory.py, above the backends).

Everything talks to an OpenAI-compatible endpoint through `langchain_openai`: the embedded local model
(llama.cpp server in-process), OpenAI, any compatible server (vLLM, Ollama) or Azure OpenAI. Heavy
imports (langchain_openai, httpx, xllamacpp) live in the backends, so importing this module stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

PROVIDERS = ("local", "openai", "azure")
DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"
DEFAULT_AZURE_API_VERSION = "2024-10-21"  # first GA version with json_schema structured outputs


class LLMError(Exception):
    """Base class: every LLM-layer failure the app should show as one human-readable line."""


class LLMConfigError(LLMError):
    """The LLM is misconfigured or not installed (bad provider, missing key, missing model parts)."""


class LLMUnavailable(LLMError):
    """The endpoint could not be reached or kept failing (refused, timeout, 5xx) after bounded retries."""


class LLMOutputError(LLMError):
    """The model answered, but its output could not be parsed or validated; `raw` holds the text."""

    def __init__(self, message: str, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _num(env: Mapping[str, str], name: str, kind: type, default: Any) -> Any:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise LLMConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value < 0:
        raise LLMConfigError(f"{name}={raw!r} must not be negative")
    return value


def first_env(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


@dataclass(frozen=True)
class LLMSettings:
    """Which LLM to use and how patiently; `from_env()` reads the INTEREC_LLM_* variables."""

    provider: str = "local"
    model: str | None = None  # None: the provider's default (local alias / DEFAULT_OPENAI_MODEL)
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    azure_endpoint: str | None = None
    azure_deployment: str | None = None
    api_version: str | None = None
    timeout: float | None = None  # seconds per attempt; None: 120 local, 60 remote
    max_retries: int = 2
    retry_backoff: float = 0.5  # seconds before the first retry, doubled each time (capped at 8)
    threads: int = field(default_factory=_cores)
    ctx: int = 4096
    cache_dir: Path = field(default_factory=lambda: Path("~/.cache/interec/models").expanduser())
    gguf: Path | None = None  # local provider: use this GGUF instead of the bundled model
    temperature: float = 0.0
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        provider = (self.provider or "local").strip().lower()
        if provider not in PROVIDERS:
            raise LLMConfigError(
                f"Unknown LLM provider {self.provider!r} (INTEREC_LLM_PROVIDER): use one of {', '.join(PROVIDERS)}"
            )
        object.__setattr__(self, "provider", provider)
        if self.timeout is None:
            object.__setattr__(self, "timeout", 120.0 if provider == "local" else 60.0)
        if self.threads < 1:
            object.__setattr__(self, "threads", _cores())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> LLMSettings:
        """Read settings from `env` (default os.environ); keyword overrides win over the environment."""
        env = os.environ if env is None else env
        provider = (first_env(env, "INTEREC_LLM_PROVIDER") or "local").lower()
        remote_key = ("AZURE_OPENAI_API_KEY",) if provider == "azure" else ("OPENAI_API_KEY",)
        cache = first_env(env, "INTEREC_MODEL_CACHE")
        gguf = first_env(env, "INTEREC_LLM_GGUF")
        max_tokens = _num(env, "INTEREC_LLM_MAX_TOKENS", int, 0)
        values: dict[str, Any] = dict(
            provider=provider,
            model=first_env(env, "INTEREC_LLM_MODEL"),
            base_url=first_env(env, "INTEREC_LLM_BASE_URL", "OPENAI_BASE_URL"),
            api_key=first_env(env, "INTEREC_LLM_API_KEY", *remote_key),
            azure_endpoint=first_env(env, "INTEREC_LLM_AZURE_ENDPOINT", "AZURE_OPENAI_ENDPOINT"),
            azure_deployment=first_env(env, "INTEREC_LLM_AZURE_DEPLOYMENT", "AZURE_OPENAI_DEPLOYMENT"),
            api_version=first_env(env, "INTEREC_LLM_API_VERSION", "OPENAI_API_VERSION"),
            timeout=_num(env, "INTEREC_LLM_TIMEOUT", float, None) or None,
            max_retries=_num(env, "INTEREC_LLM_MAX_RETRIES", int, 2),
            retry_backoff=_num(env, "INTEREC_LLM_RETRY_BACKOFF", float, 0.5),
            threads=_num(env, "INTEREC_LLM_THREADS", int, 0),
            ctx=_num(env, "INTEREC_LLM_CTX", int, 4096),
            cache_dir=Path(cache).expanduser() if cache else Path("~/.cache/interec/models").expanduser(),
            gguf=Path(gguf).expanduser() if gguf else None,
            temperature=_num(env, "INTEREC_LLM_TEMPERATURE", float, 0.0),
            max_tokens=max_tokens or None,
        )
        values.update(overrides)
        return cls(**values)

    @property
    def endpoint(self) -> str:
        """The URL requests go to, for error messages (the local one is only known once started)."""
        if self.provider == "azure":
            return self.azure_endpoint or "<azure endpoint unset>"
        if self.provider == "local":
            return self.base_url or "the embedded local model server"
        return self.base_url or "https://api.openai.com/v1"
