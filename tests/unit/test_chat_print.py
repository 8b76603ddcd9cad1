"""The terminal chat's reply printing: finished sentences only, no repeated reply, progress after the reply."""

from __future__ import annotations

import io

from graph.chat_cli import ReplyPrinter
from tools.sentences import last_boundary, whole_sentences


def test_whole_sentences_cuts_the_unfinished_tail() -> None:
    assert whole_sentences("Great picks. Overall, WALL·E is") == "Great picks."
    assert whole_sentences("You might enjoy:\n1. Up - fun.\n2. WALL·E - a") == "You might enjoy:\n1. Up - fun."
    assert whole_sentences("1. Up - fun.\n2.") == "1. Up - fun."  # a list number is no sentence end
    assert whole_sentences('He said "wow." And then') == 'He said "wow."'
    assert whole_sentences("Done.  ") == "Done."
    assert whole_sentences("Overall, WALL·E is") == "Overall, WALL·E is…"  # nothing finished: marked, not lost
    assert last_boundary("no end yet") == 0


def _printed(tokens: list[str], final: str, late: tuple[str, ...] = ()) -> str:
    out = io.StringIO()
    p = ReplyPrinter(out)
    p.progress("planning")
    for t in tokens:
        p.token(t)
    for text in late:
        p.progress(text)
    p.final(final)
    return out.getvalue()


def test_unchanged_reply_is_printed_once_and_progress_comes_after() -> None:
    reply = "You might enjoy:\n1. Up - fun.\n2. WALL·E - great."
    got = _printed(["You might", " enjoy:\n1. Up", " - fun.\n2. WALL", "·E - great."], reply, ("noted your tastes",))
    assert got == f"  ... planning\nagent> {reply}\n  ... noted your tastes\n"


def test_tail_cut_at_the_cap_never_shows() -> None:
    got = _printed(["Great picks.", " Overall, WALL·E", " is"], "Great picks.")
    assert got == "  ... planning\nagent> Great picks.\n"


def test_additions_are_appended_and_changes_are_shown_under_the_note() -> None:
    added = _printed(["1. Up - fun.\n"], "1. Up - fun.\nAlso worth a look:\n- Cars (2006)")
    assert added == "  ... planning\nagent> 1. Up - fun.\nAlso worth a look:\n- Cars (2006)\n"
    changed = _printed(["1. Up - fun.\n2. Inventedia - bad."], "1. Up - fun.", ("removed invented titles: Inventedia",))
    assert changed.count("1. Up - fun.") == 2 and "(checked against the catalog; final answer:)\nagent> 1. Up - fun.\n" in changed
    assert changed.endswith("  ... removed invented titles: Inventedia\n")
    assert _printed([], "Hello there.") == "  ... planning\nagent> Hello there.\n"
