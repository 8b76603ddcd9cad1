"""Request understanding driven by the domain: its values, units and periods, read in code (see reading.py)."""

from graph.understand.conversation import merge_into, read_conversation
from graph.understand.quantities import Range
from graph.understand.reading import Reader, Request

__all__ = ["Range", "Reader", "Request", "merge_into", "read_conversation"]
