"""One turn per thread at a time, across processes; a killed holder frees the thread (issue 14, item 7)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from fastapi import HTTPException

from serving.turn_lock import BUSY, acquire_turn


def test_a_second_turn_of_the_same_thread_gets_409(tmp_path: Path) -> None:
    first = acquire_turn(tmp_path, "alice/t1")
    with pytest.raises(HTTPException) as e:
        acquire_turn(tmp_path, "alice/t1")
    assert e.value.status_code == 409 and e.value.detail == BUSY
    other = acquire_turn(tmp_path, "alice/t2")  # other threads are not blocked
    other.release()
    first.release()
    first.release()  # idempotent
    with acquire_turn(tmp_path, "alice/t1"):
        pass


def test_another_process_holding_the_thread_blocks_it_until_killed(tmp_path: Path) -> None:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a "worker" that takes the lock and hangs mid-turn
        try:
            held = acquire_turn(tmp_path, "bob/t")  # noqa: F841 - kept alive until the kill
            os.write(w, b"x")
            time.sleep(60)
        finally:
            os._exit(0)
    assert os.read(r, 1) == b"x"
    with pytest.raises(HTTPException):
        acquire_turn(tmp_path, "bob/t")
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    acquire_turn(tmp_path, "bob/t").release()  # the kernel dropped the dead worker's lock
