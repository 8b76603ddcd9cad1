"""One turn at a time per conversation, across every worker that shares the memory folder.

Two turns of one thread at once would both read the same checkpoint and both append to it: the second
answer would not see the first, and the history would fork. The lock is an exclusive `flock` on a small
file per thread in the memory folder, taken without waiting: a second turn gets a clear 409 at once. The
kernel drops the lock when its process dies, so a killed worker never leaves a thread locked.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any

from fastapi import HTTPException

from memory.paths import memory_dir

BUSY = "this conversation is still answering another message; wait for that answer, then send again"


class TurnLock:
    """A held lock; `release()` is idempotent."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:  # a stream that never started still gives the thread back
        self.release()

    def __enter__(self) -> TurnLock:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def lock_dir(folder: Path | None) -> Path:
    path = (folder or memory_dir()) / "turn-locks"
    path.mkdir(parents=True, exist_ok=True)
    return path


def acquire_turn(folder: Path | None, internal_thread: str) -> TurnLock:
    """Take the thread's lock or raise HTTP 409 (never waits)."""
    name = hashlib.sha256(internal_thread.encode()).hexdigest()[:40] + ".lock"
    fd = os.open(lock_dir(folder) / name, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise HTTPException(409, BUSY) from None
    return TurnLock(fd)
