"""Every eval suite by name, listed once (the CLI's --suite choices come from here, in this order)."""

from __future__ import annotations

from typing import Any

from evals.doke import DokeSuite
from evals.faithfulness import FaithfulnessSuite
from evals.gen import GenSuite
from evals.suites import (
                                              OneTurnRankingSuite,
                                              OneTurnRetrievalSuite,
                                              RankingSuite,
                                              RetrievalSuite,
                                              SimulatorSuite,
)

SUITES: dict[str, Any] = {s.name: s for s in (SimulatorSuite(), OneTurnRetrievalSuite(), OneTurnRankingSuite(),
                                              RetrievalSuite(), RankingSuite(), DokeSuite(), FaithfulnessSuite(),
                                              GenSuite())}
