"""The bundled MovieLens domain builds to the published counts and rebuilds as a no-op."""

from __future__ import annotations

import time

from models.build import build_domain


def test_counts_and_parsed_columns(ml_domain) -> None:  # type: ignore[no-untyped-def]
    stats = ml_domain.manifest["catalog"]["stats"]
    assert (stats["items"], stats["interactions"], stats["users"]) == (9742, 100836, 610)
    items = ml_domain.items.set_index("title")
    toy = items.loc["Toy Story (1995)"]
    assert toy["year"] == 1995
    assert toy["genres"].split("|") == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert "pixar" in toy["tags"]
    assert toy["popularity"] > 100
    assert (ml_domain.items["genres"].str.contains("no genres")).sum() == 0
    splits = ml_domain.interactions["split"].value_counts()
    assert splits["test"] == splits["valid"] > 600
    # positives are rating >= 3.5 and every test row is a user's last positive
    inter = ml_domain.interactions
    assert inter[inter["positive"]]["rating"].min() == 3.5


def test_second_build_is_fast_and_skips(ml_domain) -> None:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    report = build_domain(ml_domain.config, ml_domain.artifacts, progress=False, index=False)
    assert report.steps == {"catalog": "up to date"}
    assert report.stats["items"] == 9742
    assert time.perf_counter() - t < 5
