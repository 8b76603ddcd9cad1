"""Shared fixtures: built domains live in one session-wide temp artifacts folder, never in the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MOVIELENS = ROOT / "data" / "movielens"
SHOP = ROOT / "tests" / "fixtures" / "shop"

os.environ.setdefault("LANGSMITH_TRACING", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Most agent tests were written for the LLM reply writer (grounding, injection, faults); the product default is
# code-written lists ("template"), which tests that are about it ask for explicitly (deps.writer = "template").
os.environ.setdefault("INTEREC_REPLY_WRITER", "llm")


@pytest.fixture(scope="session")
def artifacts_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh folder per session; INTEREC_TEST_ARTIFACTS reuses one across local runs (builds are cached)."""
    reuse = os.environ.get("INTEREC_TEST_ARTIFACTS")
    return Path(reuse) if reuse else tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="session")
def ml_domain(artifacts_root: Path):  # type: ignore[no-untyped-def]
    """MovieLens catalog without the embedding index (fast)."""
    from models.artifacts import artifacts_dir
    from models.build import build_domain
    from models.config import load_config
    from models.domain import Domain

    cfg = load_config(MOVIELENS)
    art = artifacts_dir(cfg, artifacts_root)
    build_domain(cfg, art, progress=False, index=False)
    return Domain(cfg, art)


@pytest.fixture(scope="session")
def ml_domain_indexed(ml_domain):  # type: ignore[no-untyped-def]
    """MovieLens with its Chroma index (embeds ~10k items once per session)."""
    from models.build import build_domain
    from models.domain import Domain

    build_domain(ml_domain.config, ml_domain.artifacts, progress=False, index=True)
    return Domain(ml_domain.config, ml_domain.artifacts)
