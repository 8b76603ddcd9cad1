"""The terminal chat on MovieLens, driven in a real terminal (tmux), with a scripted streaming LLM server.

What a person sees is checked on the tmux screen: a reply the grounding check left alone is printed once
(no "checked against the catalog" repeat); a reply the LLM wrote past its token cap ends at a finished
sentence; progress such as "... noted your tastes" is on its own line after the reply; a why-question is
answered in plain words (shares of people, the liked items), not model scores; and a reply whose
invented title was removed does show the checked answer under the note.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.integration.fake_openai_stream import shown_titles, streaming_fake_openai

pytestmark = [pytest.mark.slow, pytest.mark.ci,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (apt-get install tmux)")]

RAMBLE = ("Overall, every one of these is a warm and funny pick that I think you will enjoy on a quiet evening "
          "with friends or family because they all share the same kind of gentle humour and heart that made the "
          "first one such a favourite of yours and of so many other people who keep coming back to it again and "
          "again over the years whenever they want something light and kind and clever at the same time ") * 3


def writer(prompt: str) -> str:
    """The reply writer, as a model would follow the user's words: a plain list, a long ramble, an invention."""
    user = prompt.rsplit("User: ", 1)[1].split("\n", 1)[0].lower() if "User: " in prompt else ""  # this turn's
    lines = "\n".join(f"{i}. {t} - a good fit." for i, t in enumerate(shown_titles(prompt), 1))
    if "a lot" in user:
        return f"Here you go:\n{lines}\n{RAMBLE}"
    if "surprise" in user:  # a title the tools never returned and the user never named
        return f"{lines}\nTitanic (1997) - a classic romance."
    return f"You might enjoy:\n{lines}"


class Tmux:
    """One detached tmux session running a command; type lines, read the screen (history included)."""

    def __init__(self, name: str, command: str) -> None:
        self.name = name
        subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "220", "-y", "50", command], check=True)

    def screen(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-J", "-S", "-", "-t", self.name],
                             capture_output=True, text=True, check=False)
        return out.stdout

    def wait_for(self, pattern: str, count: int, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if len(re.findall(pattern, text, re.M)) >= count:
                return text
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {count}x {pattern!r}; screen:\n{self.screen()[-3000:]}")

    def send(self, line: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", line], check=True)
        subprocess.run(["tmux", "send-keys", "-t", self.name, "Enter"], check=True)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False, capture_output=True)


def turns(screen: str) -> list[list[str]]:
    """The screen split into turns: the lines after each `you> ...` prompt, up to the next prompt."""
    out: list[list[str]] = []
    for line in screen.splitlines():
        if line.startswith("you> "):
            out.append([])
        elif out:
            out[-1].append(line.rstrip())
    return [t for t in out if t]


def reply_of(lines: list[str]) -> list[str]:
    """The reply's lines: from `agent> ` to the last line that is not progress."""
    start = next(i for i, ln in enumerate(lines) if ln.startswith("agent> "))
    body = lines[start:]
    while body and body[-1].startswith("  ... "):
        body.pop()
    return body


def test_terminal_chat_reads_like_a_product(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with streaming_fake_openai(writer) as fake:
        env = {"INTEREC_ARTIFACTS": str(ml_domain_indexed.artifacts.parent), "INTEREC_MEMORY_DIR": str(tmp_path),
               "INTEREC_LLM_PROVIDER": "openai", "INTEREC_LLM_BASE_URL": fake.url, "INTEREC_LLM_API_KEY": "sk-test",
               "INTEREC_LLM_MODEL": "fake", "LANGSMITH_TRACING": "false", "HF_HUB_OFFLINE": "1",
               "INTEREC_TORCH_THREADS": "1", "PYTHONPATH": str(ROOT), "TERM": "xterm-256color",
               "INTEREC_REPLY_WRITER": "llm"}  # this test is about the LLM writer's streamed reply
        cmd = (f"cd {shlex.quote(str(ROOT))} && env {' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} "
               f"{shlex.quote(sys.executable)} app.py chat --domain data/movielens --no-build --user ann; sleep 30")
        tmux = Tmux(f"interec-chat-{os.getpid()}", cmd)
        try:
            tmux.wait_for(r"^you> ", 1, 300)
            messages = ["I loved Toy Story, a comedy please", "more comedies, and tell me a lot about them",
                        None, "surprise me with a comedy"]
            for n, msg in enumerate(messages, 1):
                if msg is None:  # ask why about the first item recommended in turn 1
                    first = reply_of(turns(tmux.screen())[0])
                    item = next(ln for ln in first if re.match(r"^\d+\. ", ln))
                    msg = f"Why did you recommend {re.sub(r'^1. ', '', item).split(' - ')[0]}?"
                tmux.send(msg)
                tmux.wait_for(r"^you> ", n + 1, 240)
            screen = tmux.screen()
        finally:
            tmux.close()
    if os.environ.get("INTEREC_CHAT_SCREEN"):  # keep what the terminal showed, to read it
        Path(os.environ["INTEREC_CHAT_SCREEN"]).write_text(screen)
    got = turns(screen)
    assert len(got) == 4, screen
    plain, long, why, invented = got

    # 1. unchanged by the grounding check: printed once, no note; progress after the reply, on its own line
    reply = reply_of(plain)
    assert reply[0] == "agent> You might enjoy:" and re.match(r"^1\. .+ - a good fit\.$", reply[1]), plain
    assert not any("checked against the catalog" in ln for ln in plain), plain
    assert sum(ln.endswith("You might enjoy:") for ln in plain) == 1
    assert "  ... noted your tastes" in plain and plain.index("  ... noted your tastes") > plain.index(reply[-1])
    assert all("..." not in ln for ln in reply), reply  # no progress text glued onto a reply line

    # 2. past the token cap: the reply stops at a finished line, the unfinished ramble never shows
    assert fake.capped >= 1
    reply = reply_of(long)
    assert reply[0] == "agent> Here you go:" and reply[-1].endswith("."), long
    assert not any("Overall" in ln for ln in long), long
    assert not any("checked against the catalog" in ln for ln in long), long

    # 3. a why-question in the user's language
    text = " ".join(reply_of(why))
    assert text.startswith("agent> Why "), why
    assert not re.search(r"\d\.\d|score|drops|97%", text), text
    assert re.search(r"people who liked Toy Story|because you liked Toy Story", text), text

    # 4. an invented title was removed: the note and the checked reply show, once
    assert sum("checked against the catalog; final answer:" in ln for ln in invented) == 1, invented
    after = invented[next(i for i, ln in enumerate(invented) if "checked against the catalog" in ln) + 1:]
    assert after[0].startswith("agent> 1. ") and not any("Titanic" in ln for ln in after if not ln.startswith("  ... "))
    assert any(ln.startswith("  ... removed invented titles: Titanic") for ln in after), invented
