"""LangSmith tracing that can never stall or leak: one bounded client for the library and the server.

Why: with `LANGSMITH_TRACING=true` and the collector unreachable, the LangSmith client's defaults (urllib3
retries with backoff inside three send attempts per batch, non-daemon sender threads that the interpreter
joins at exit) stalled a one-turn process ~18 s at exit, and each failed send logged a multi-line
connection dump with part of the API key. Here the client gets short timeouts and one quick retry, its
sender threads are daemons, the exit flush has a time limit, and its log records pass through a filter
that turns connection failures into one line (once a minute at most) and drops any API-key text.

`configure_from_env()` (called by `graph.agent.make_agent`) installs such a client as LangSmith's global
one, so LangChain's env-driven tracer uses it; `serving.tracing` builds its explicit tracer on `make_client`.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from models.llm import first_env

log = logging.getLogger("interec.tracing")
TRUE = ("1", "true", "yes", "on")
TIMEOUT_MS = (2000, 5000)  # connect, read: a healthy collector answers in milliseconds
EXIT_FLUSH_S = 2.0  # the longest a process waits at exit for queued traces
WARN_EVERY_S = 60.0
LANGSMITH_LOGGERS = ("langsmith.client", "langsmith", "langsmith.run_trees", "langsmith._internal._background_thread")


@dataclass(frozen=True)
class TraceSettings:
    endpoint: str | None
    api_key: str = field(repr=False)
    project: str = "interec"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TraceSettings | None:
        """The tracing settings when `LANGSMITH_TRACING` (or the legacy `LANGCHAIN_TRACING_V2`) is on and a key
        is set; None otherwise (the server treats a missing key the same way)."""
        env = os.environ if env is None else env
        if (first_env(env, "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2") or "").lower() not in TRUE:
            return None
        key = first_env(env, "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY") or ""
        if not key:
            return None
        return cls(first_env(env, "LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT"), key,
                   first_env(env, "LANGSMITH_PROJECT", "LANGCHAIN_PROJECT") or "interec")


# ---- log filtering ----------------------------------------------------------------------------------------------
_REASON = re.compile(r"\[Errno -?\d+\] ([^'\"\)\\]+)|(Read timed out|timed out|Connection refused|Name or service not known)")
_URL = re.compile(r"(https?://[\w.\-\[\]]+(?::\d+)?)")
_CONNECTION = ("Connection error", "ConnectionError", "MaxRetryError", "timed out", "Timeout", "Failed to get info",
               "Failed to multipart ingest", "Failed to batch ingest", "Failed to send compressed")


class QuietLangSmith(logging.Filter):
    """LangSmith's connection failures as one short line without key material, at most once a minute.

    Every other LangSmith record keeps only its first line, with any API key (or its masked form) removed."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)
        self.last_warned = -1e9
        self.last_failure = -1e9  # when a send last failed to connect (logged or not)
        self.suppressed = 0
        self.lock = threading.Lock()

    def _scrub(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        first = text.splitlines()[0] if text else ""
        return re.sub(r"API Key: \S+", "", first)[:300]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is dropped, not raised
            return False
        if "Run compression is not enabled" in text:  # follows a failed /info; the fallback works
            return False
        if record.levelno >= logging.WARNING and any(k in text for k in _CONNECTION):
            with self.lock:
                now = time.monotonic()
                self.last_failure = now
                if now - self.last_warned < WARN_EVERY_S:
                    self.suppressed += 1
                    return False
                self.last_warned = now
                more = f" ({self.suppressed} more since)" if self.suppressed else ""
                self.suppressed = 0
            m = _REASON.search(text)
            reason = (m.group(1) or m.group(2)).strip() if m else "connection error"
            u = _URL.search(text)
            where = u.group(1) if u else "the LangSmith endpoint"
            record.msg, record.args = (f"LangSmith tracing: cannot reach {where} ({reason}); these traces are "
                                       f"dropped, the app is unaffected{more}"), None
            record.exc_info = record.exc_text = record.stack_info = None
            return True
        record.msg, record.args = self._scrub(text), None
        record.exc_info = record.exc_text = record.stack_info = None
        return True


_FILTER: QuietLangSmith | None = None


def quiet_langsmith_logs(api_key: str | None = None) -> QuietLangSmith:
    """Install the filter on LangSmith's loggers (once per process; later keys are added to what it scrubs)."""
    global _FILTER
    if _FILTER is None:
        _FILTER = QuietLangSmith()
        for name in LANGSMITH_LOGGERS:
            logging.getLogger(name).addFilter(_FILTER)
    if api_key and api_key not in _FILTER.secrets:
        _FILTER.secrets = (*_FILTER.secrets, api_key)
    return _FILTER


# ---- the client -------------------------------------------------------------------------------------------------
def make_client(endpoint: str | None, api_key: str | None) -> Any:
    """A LangSmith client with short timeouts, one quick retry and daemon sender threads (so a dead collector
    never holds the process at exit); pair it with `flush(client)` at shutdown."""
    from langsmith import Client
    from langsmith import utils as ls_utils
    from urllib3.util.retry import Retry

    quiet_langsmith_logs(api_key)
    retry = ls_utils.LangSmithRetry(total=1, backoff_factor=0.2, status_forcelist=[429, 500, 502, 503, 504],
                                    allowed_methods=None, raise_on_redirect=False, raise_on_status=False)
    assert isinstance(retry, Retry)
    # LANGSMITH_USE_DAEMON is the client's own switch, read (and cached) when the client starts its threads.
    previous = os.environ.get("LANGSMITH_USE_DAEMON")
    os.environ["LANGSMITH_USE_DAEMON"] = "true"
    ls_utils.get_env_var.cache_clear()  # type: ignore[attr-defined]
    try:
        return Client(api_url=endpoint, api_key=api_key, timeout_ms=TIMEOUT_MS, retry_config=retry)
    finally:
        if previous is None:
            os.environ.pop("LANGSMITH_USE_DAEMON", None)
        else:
            os.environ["LANGSMITH_USE_DAEMON"] = previous
        ls_utils.get_env_var.cache_clear()  # type: ignore[attr-defined]


def collector_down(within_s: float = WARN_EVERY_S) -> bool:
    """Did a send fail to reach the collector in the last `within_s` seconds?"""
    return _FILTER is not None and time.monotonic() - _FILTER.last_failure < within_s


def flush(client: Any, timeout: float = EXIT_FLUSH_S) -> None:
    """Send what is queued, waiting at most `timeout` seconds (a moment only when the collector was just found
    down: what is queued would fail the same way); never raises (tracing must not break shutdown)."""
    if collector_down():
        timeout = min(timeout, 0.2)
    try:
        client.flush(timeout=timeout)
    except Exception as e:  # noqa: BLE001
        log.warning("LangSmith flush failed: %s", str(e).splitlines()[0][:200] if str(e) else type(e).__name__)


_GLOBAL: dict[str, Any] = {}
_LOCK = threading.Lock()


def configure_from_env(env: Mapping[str, str] | None = None) -> Any:
    """When tracing is on in the environment, make LangSmith's global client (the one LangChain's env-driven
    tracer uses) a bounded one, flushed at exit within EXIT_FLUSH_S. Idempotent; returns the client or None."""
    settings = TraceSettings.from_env(env)
    if settings is None:
        return None
    with _LOCK:
        key = (settings.endpoint, settings.api_key)
        if _GLOBAL.get("key") == key:
            return _GLOBAL["client"]
        import langsmith

        client = make_client(settings.endpoint, settings.api_key)
        langsmith.configure(client=client)
        atexit.register(flush, client, EXIT_FLUSH_S)
        _GLOBAL.update(key=key, client=client)
        return client
