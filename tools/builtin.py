"""Importing this module registers the built-in tools (knowledge and explain tools register the same way)."""

from tools import catalog_tools, explain, knowledge, match, rank, similarity  # noqa: F401
