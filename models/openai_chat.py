"""ChatOpenAI wiring: bounded retries with our own backoff, and openai/httpx errors turned into LLMError.

Retries live in an httpx client's send() (the openai client's own retries are switched off) so that the
backoff is configurable (fast tests) and one place decides what is worth retrying: connection errors,
HTTP 429/5xx and, for remote endpoints only, timeouts (a local model that timed out is just slow).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
from langchain_openai import AzureChatOpenAI, ChatOpenAI
from pydantic import SecretStr

from models.llm import LLMConfigError, LLMError, LLMSettings, LLMUnavailable

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF = 8.0
_NETWORK_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)
_TIMEOUTS: tuple[type[Exception], ...] = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)


def _delay(backoff: float, attempt: int, response: httpx.Response | None) -> float:
    """Exponential backoff; a short Retry-After from the server wins."""
    if response is not None:
        try:
            hinted = float(response.headers.get("retry-after", ""))
            if 0 <= hinted <= MAX_BACKOFF:
                return hinted
        except ValueError:
            pass
    return min(MAX_BACKOFF, backoff * (2**attempt))


class _RetryPolicy:
    def __init__(self, retries: int, backoff: float, retry_timeouts: bool) -> None:
        self.retries, self.backoff = retries, backoff
        self.retryable = _NETWORK_ERRORS + (_TIMEOUTS if retry_timeouts else ())


class RetryClient(httpx.Client):
    """httpx.Client whose send() retries `retries` times on network errors and 429/5xx, then gives up.

    Retrying in send() (not in a custom transport) keeps httpx's proxy and env handling intact.
    """

    def __init__(self, retries: int, backoff: float, retry_timeouts: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = _RetryPolicy(retries, backoff, retry_timeouts)

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        p = self.policy
        for attempt in range(p.retries + 1):
            last = attempt == p.retries
            try:
                response = super().send(request, **kwargs)
            except p.retryable:
                if last:
                    raise
                time.sleep(_delay(p.backoff, attempt, None))
                continue
            if response.status_code not in RETRY_STATUS or last:
                return response
            response.close()
            time.sleep(_delay(p.backoff, attempt, response))
        raise AssertionError("unreachable")  # pragma: no cover


class AsyncRetryClient(httpx.AsyncClient):
    """Async twin of RetryClient."""

    def __init__(self, retries: int, backoff: float, retry_timeouts: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = _RetryPolicy(retries, backoff, retry_timeouts)

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        p = self.policy
        for attempt in range(p.retries + 1):
            last = attempt == p.retries
            try:
                response = await super().send(request, **kwargs)
            except p.retryable:
                if last:
                    raise
                await asyncio.sleep(_delay(p.backoff, attempt, None))
                continue
            if response.status_code not in RETRY_STATUS or last:
                return response
            await response.aclose()
            await asyncio.sleep(_delay(p.backoff, attempt, response))
        raise AssertionError("unreachable")  # pragma: no cover


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def translate_error(exc: BaseException, endpoint: str, attempts: int, timeout: float | None) -> LLMError | None:
    """Map an openai/httpx failure to LLMUnavailable / LLMConfigError; None when it is neither."""
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    for err in _chain(exc):
        if isinstance(err, LLMError):
            return err
        if isinstance(err, openai.APITimeoutError | httpx.TimeoutException):
            return LLMUnavailable(f"LLM endpoint {endpoint} did not answer within {timeout:g} s ({tries})")
        if isinstance(err, openai.APIConnectionError | httpx.TransportError | ConnectionError):
            cause = next((c for c in _chain(err) if isinstance(c, httpx.TransportError | OSError)), err)
            return LLMUnavailable(f"LLM endpoint {endpoint} is unreachable ({tries}): {cause}")
        status = getattr(err, "status_code", None)
        if isinstance(status, int):
            if status in (401, 403):
                return LLMConfigError(f"LLM endpoint {endpoint} rejected the API key (HTTP {status})")
            if status == 404:
                return LLMConfigError(f"LLM endpoint {endpoint} has no such model or path (HTTP 404)")
            if status == 429 or status >= 500:
                return LLMUnavailable(f"LLM endpoint {endpoint} kept failing with HTTP {status} ({tries})")
    if _malformed_response(exc):
        return LLMUnavailable(f"LLM endpoint {endpoint} answered with something that is not a chat completion "
                              f"({type(exc).__name__}: {str(exc)[:80]})")
    return None


def _malformed_response(exc: BaseException) -> bool:
    """A 200 answer that is not an OpenAI completion (a proxy's HTML page, truncated JSON) fails inside the
    client's parsing code (AttributeError, TypeError, KeyError, ValueError, an assert in its stream parser);
    the failing frame tells."""
    if not isinstance(exc, AttributeError | TypeError | KeyError | ValueError | AssertionError):
        return False
    tb, last = exc.__traceback__, None
    while tb is not None:
        last, tb = tb.tb_frame.f_code.co_filename, tb.tb_next
    return last is not None and ("/openai/" in last or "/langchain_openai/" in last)


class _Translating:
    """Mixin: run the parent's generate/stream and re-raise transport failures as LLMError."""

    interec_endpoint: str
    interec_attempts: int
    request_timeout: Any

    def _translated(self, exc: BaseException) -> BaseException:
        timeout = self.request_timeout if isinstance(self.request_timeout, int | float) else None
        return translate_error(exc, self.interec_endpoint, self.interec_attempts, timeout) or exc

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super()._generate(*args, **kwargs)  # type: ignore[misc]
        except Exception as exc:
            raise self._translated(exc) from exc

    async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._agenerate(*args, **kwargs)  # type: ignore[misc]
        except Exception as exc:
            raise self._translated(exc) from exc

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            yield from super()._stream(*args, **kwargs)  # type: ignore[misc]
        except Exception as exc:
            raise self._translated(exc) from exc

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        try:
            async for chunk in super()._astream(*args, **kwargs):  # type: ignore[misc]
                yield chunk
        except Exception as exc:
            raise self._translated(exc) from exc


class InterecChatOpenAI(_Translating, ChatOpenAI):
    """ChatOpenAI that raises LLMUnavailable/LLMConfigError; `interec_provider` tells local from remote."""

    interec_provider: str = "openai"
    interec_endpoint: str = ""
    interec_attempts: int = 1


class InterecAzureChatOpenAI(_Translating, AzureChatOpenAI):
    """AzureChatOpenAI with the same error translation."""

    interec_provider: str = "azure"
    interec_endpoint: str = ""
    interec_attempts: int = 1


def _common(s: LLMSettings, endpoint: str) -> dict[str, Any]:
    local = s.provider == "local"
    retry = (s.max_retries, s.retry_backoff, not local)  # local: no retry on timeout, no env proxies
    return dict(
        temperature=s.temperature,
        timeout=s.timeout,
        max_retries=0,  # retries happen in RetryTransport
        max_tokens=s.max_tokens,
        stream_usage=True,
        http_client=RetryClient(*retry, trust_env=not local, follow_redirects=True),
        http_async_client=AsyncRetryClient(*retry, trust_env=not local, follow_redirects=True),
        interec_provider=s.provider,
        interec_endpoint=endpoint,
        interec_attempts=s.max_retries + 1,
    )


def build_openai(s: LLMSettings, *, base_url: str, api_key: str, model: str) -> InterecChatOpenAI:
    """A ChatOpenAI on the chat-completions API (what llama.cpp, vLLM and Ollama also serve)."""
    return InterecChatOpenAI(
        model=model, base_url=base_url, api_key=SecretStr(api_key), use_responses_api=False, **_common(s, base_url)
    )


def build_azure(s: LLMSettings) -> InterecAzureChatOpenAI:
    """An AzureChatOpenAI for a deployment; json_schema output needs api_version >= 2024-08-01."""
    from models.llm import DEFAULT_AZURE_API_VERSION

    endpoint = s.azure_endpoint or ""
    return InterecAzureChatOpenAI(
        azure_endpoint=endpoint,
        azure_deployment=s.azure_deployment,
        api_version=s.api_version or DEFAULT_AZURE_API_VERSION,
        api_key=SecretStr(s.api_key or ""),
        model=s.model or s.azure_deployment,
        **_common(s, endpoint),
    )
