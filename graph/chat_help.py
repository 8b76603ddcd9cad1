"""The chat's slash commands, shown by `/help` and by `app.py chat --help` (kept light: app.py imports it
while building its parser, before any model is loaded)."""

from __future__ import annotations

CHAT_HELP = """commands:
  /reset                      start a new conversation (your profile is kept)
  /profile                    show what I have learned about your tastes
  /mode accuracy|diversity    best matches, or a more varied pick
  /style concise|detailed     short or longer answers
  /rank tools|doke|gen        final order: the ranking tools (default), the LLM with DOKE knowledge,
                              or catalog-constrained LLM generation (one extra LLM call per turn)
  /user NAME                  switch to another user
  /help                       this text
  /quit                       leave (Ctrl-D and Ctrl-C work too)"""
