"""The terminal chat loop: streamed progress and reply, slash commands, per-user persistent threads."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

from graph.agent import Agent, InputError, make_agent
from graph.chat_help import CHAT_HELP
from graph.context import SettingError, check
from graph.session import stream_turn
from memory.paths import memory_dir
from tools.sentences import last_boundary

DIM, RESET = ("\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "")


def _threads_file() -> Any:
    return memory_dir() / "chat_threads.json"


def last_thread(user: str) -> str:
    try:
        data = json.loads(_threads_file().read_text())
        return str(data[user])
    except (OSError, ValueError, KeyError):
        return new_thread(user)


def new_thread(user: str) -> str:
    path = _threads_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[user] = f"{user}-{uuid.uuid4().hex[:12]}"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)
    return str(data[user])


class ReplyPrinter:
    """Writes one streamed reply so that it reads like a finished answer.

    Tokens are shown up to the last finished sentence; the unfinished tail waits for the final reply,
    so text that the final reply drops (cut at the token cap) never appears. When the final reply only
    adds to what is shown (the grounding check appended items, or kept everything), just the addition is
    written; only when it changed shown text is the checked reply printed in full under a note.
    Progress that arrives after the reply has started ("noted your tastes") is written after it, on
    its own lines."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.streamed = ""  # every token so far
        self.shown = ""  # the prefix of `streamed` written to the terminal (no trailing white space)
        self.later: list[str] = []

    def progress(self, text: str) -> None:
        if self.streamed:
            self.later.append(text)
        else:
            self.out.write(f"{DIM}  ... {text}{RESET}\n")

    def token(self, text: str) -> None:
        if not self.streamed and text:
            self.out.write("agent> ")
        self.streamed += text
        upto = self.streamed[:last_boundary(self.streamed)].rstrip()
        if len(upto) > len(self.shown):
            self.out.write(upto[len(self.shown):])
            self.shown = upto

    def final(self, reply: str) -> None:
        reply = reply.strip()
        if not self.streamed:
            self.out.write(f"agent> {reply}\n")
        elif reply.startswith(self.shown):
            rest = reply[len(self.shown):]
            self.out.write((rest.lstrip(" ") if self.shown else rest) + "\n")
        else:
            self.out.write(f"\n{DIM}  (checked against the catalog; final answer:){RESET}\nagent> {reply}\n")
        for text in self.later:
            self.out.write(f"{DIM}  ... {text}{RESET}\n")
        self.later = []


def turn(agent: Agent, text: str, thread: str, user: str, settings: dict[str, Any], out: Any = None) -> int:
    out = out or sys.stdout  # looked up per call: a stdout swapped after import (tests, redirection) is honoured
    printer = ReplyPrinter(out)
    for ev in stream_turn(agent, text, thread, user, **settings):
        if ev["type"] == "progress" and ev.get("text"):
            printer.progress(ev["text"])
        elif ev["type"] == "token":
            printer.token(ev["text"])
        elif ev["type"] == "final":
            printer.final(ev["reply"])
        out.flush()
    return 0


def run_chat(args: argparse.Namespace) -> int:
    from graph.agent import check_message
    from models.llm import LLMError

    if args.once is not None:  # a bad message is refused before any model or store is loaded
        try:
            check_message(args.once)
        except InputError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    try:
        agent = make_agent(args.domain, artifacts=args.artifacts, critic=args.critic, build=not args.no_build)
    except LLMError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    user = args.user
    thread = args.thread or last_thread(user)
    settings = {"mode": args.mode, "reply_style": args.style, **({"rank": args.rank} if args.rank != "tools" else {})}
    if args.once is not None:
        try:
            return turn(agent, args.once, thread, user, settings)
        except InputError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    d = agent.deps.domain
    print(f"interec chat: {d.name} ({len(d.titles):,} {d.config.item_word}s), user '{user}'. Type /help for commands.")
    try:
        from models.training import ranker_note

        print(f"({ranker_note(d)})")  # which personal ranker answers, and whether a better one is on its way
    except Exception:  # noqa: BLE001 - the banner never stops a chat from starting
        pass
    while True:
        try:
            text = input("you> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        cmd, _, arg = text.strip().partition(" ")
        if cmd in ("/quit", "/exit"):
            return 0
        if cmd == "/help":
            print(CHAT_HELP)
        elif cmd == "/reset":
            thread = new_thread(user)
            print("(new conversation)")
        elif cmd == "/profile":
            prof = agent.deps.profiles.get(user, d.name)
            for facet, values in prof.items():
                print(f"  {facet}: {', '.join(v.replace('=', ': ') for v in values) or '-'}")
        elif cmd in ("/mode", "/style", "/rank"):
            name = cmd[1:]
            try:
                value = check(name, arg.strip())
            except SettingError as e:
                print(f"({e})")
            else:
                key = {"style": "reply_style"}.get(name, name)
                settings.pop(key, None) if (name, value) == ("rank", "tools") else settings.update({key: value})
                print(f"({name}: {value})")
        elif cmd == "/user" and arg.strip():
            user = arg.strip()
            thread = last_thread(user)
            print(f"(user: {user})")
        elif cmd.startswith("/"):
            print("unknown command or argument; /help lists them")
        else:
            try:
                turn(agent, text, thread, user, settings)
            except InputError as e:
                print(f"  ({e})")
            except KeyboardInterrupt:
                print("\n  (interrupted; the conversation is kept up to the last finished turn)")
