"""The bounded LangSmith setup: settings from the environment, one-line failure logs without key material,
a client with short timeouts and daemon sender threads."""

from __future__ import annotations

import logging
import os
import threading

import pytest

from models import tracing
from models.tracing import QuietLangSmith, TraceSettings

KEY = "lsv2_pt_0123456789abcdefDUMMYKEY_4242"
# What langsmith 0.15 logs when a batch cannot be sent (shape copied from a real run with a refused port).
DUMP = ("Failed to multipart ingest runs: Connection error caused failure to POST http://127.0.0.1:9/runs/multipart "
        "in LangSmith API. Please confirm your LANGCHAIN_ENDPOINT. ConnectionError(MaxRetryError(\"HTTPConnectionPool"
        "(host='127.0.0.1', port=9): Max retries exceeded with url: /runs/multipart (Caused by NewConnectionError("
        "'<urllib3.connection.HTTPConnection object at 0x7f>: Failed to establish a new connection: [Errno 111] "
        "Connection refused'))\"))\nContent-Length: 12177\nAPI Key: lsv2_****************************42\n"
        "trace=01a2,id=01a2; trace=01a2,id=01a3")


def _record(msg: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("langsmith.client", level, __file__, 1, msg, None, None)


def test_settings_need_the_switch_and_a_key() -> None:
    assert TraceSettings.from_env({"LANGSMITH_TRACING": "false", "LANGSMITH_API_KEY": KEY}) is None
    assert TraceSettings.from_env({"LANGSMITH_TRACING": "true"}) is None  # no key: off, as the server does
    s = TraceSettings.from_env({"LANGCHAIN_TRACING_V2": "true", "LANGCHAIN_API_KEY": KEY,
                                "LANGSMITH_ENDPOINT": "http://127.0.0.1:1984"})
    assert s is not None and s.endpoint == "http://127.0.0.1:1984" and s.project == "interec"
    assert KEY not in repr(s)


def test_connection_dump_becomes_one_line_without_key() -> None:
    f = QuietLangSmith((KEY,))
    rec = _record(DUMP)
    assert f.filter(rec)
    text = rec.getMessage()
    assert "\n" not in text and "API Key" not in text and "lsv2" not in text and "Content-Length" not in text
    assert text.startswith("LangSmith tracing: cannot reach http://127.0.0.1:9 (Connection refused)")
    assert not f.filter(_record(DUMP))  # the next failures within a minute are counted, not printed
    f.last_warned -= tracing.WARN_EVERY_S + 1
    again = _record(DUMP)
    assert f.filter(again) and "(1 more since)" in again.getMessage()


def test_other_records_keep_one_scrubbed_line() -> None:
    f = QuietLangSmith((KEY,))
    rec = _record(f"Unexpected reply for key {KEY}\nsecond line", logging.ERROR)
    assert f.filter(rec)
    assert rec.getMessage() == "Unexpected reply for key ***"
    assert not f.filter(_record("Run compression is not enabled. Please update to the latest version of LangSmith."))


def test_client_is_bounded_and_threads_are_daemons(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.fake_langsmith import FakeLangSmith

    monkeypatch.delenv("LANGSMITH_USE_DAEMON", raising=False)
    before = {t.ident for t in threading.enumerate()}
    with FakeLangSmith() as fake:
        client = tracing.make_client(fake.url, KEY)
        try:
            assert client.info.version  # answered by the fake (the sender thread asks the same once)
            assert client.timeout_ms == tracing.TIMEOUT_MS and client.retry_config.total == 1
            new = [t for t in threading.enumerate() if t.ident not in before and t is not fake.thread]
            assert new and all(t.daemon for t in new)  # nothing the interpreter must join at exit
            assert "LANGSMITH_USE_DAEMON" not in os.environ  # the switch is not left behind for other clients
            assert any(isinstance(f, QuietLangSmith) for f in logging.getLogger("langsmith.client").filters)
        finally:
            client.cleanup(timeout=0)
