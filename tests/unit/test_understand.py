"""Request understanding on three vocabularies (MovieLens, Last.fm, a synthetic store), from labelled requests.

The labels are in tests/fixtures/understanding/requests.jsonl: what a careful reader takes from each request
(values of any column and cardinality, exclusions, numeric and date ranges, counts, titles, language).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from graph.understand import Reader, read_conversation

ROOT = Path(__file__).resolve().parents[2]
CASES = [json.loads(line) for line in (ROOT / "tests/fixtures/understanding/requests.jsonl").read_text().splitlines()
         if line.strip()]
LASTFM = ROOT / "benchmarks" / "domains" / "lastfm"
SHARED_LASTFM = ROOT.parent / "shared" / "data" / "lastfm-2k" / "artists.dat"


def _build(path: Path, root: Path) -> Any:
    from models.artifacts import artifacts_dir
    from models.build import build_domain
    from models.config import load_config
    from models.domain import Domain

    cfg = load_config(path)
    art = artifacts_dir(cfg, root)
    build_domain(cfg, art, progress=False, index=False)
    return Domain(cfg, art)


@pytest.fixture(scope="session")
def readers(ml_domain, artifacts_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Reader]:  # type: ignore[no-untyped-def]
    store = tmp_path_factory.mktemp("store")
    subprocess.run([sys.executable, str(ROOT / "benchmarks/domains/store/generate.py"), "--out", str(store),
                    "--items", "3000", "--seed", "0"], check=True, capture_output=True)
    out = {"movielens": Reader(ml_domain), "store": Reader(_build(store, artifacts_root))}
    if SHARED_LASTFM.exists():
        out["lastfm"] = Reader(_build(LASTFM, artifacts_root))
    return out


def _check(case: dict[str, Any], reader: Reader) -> list[str]:
    req = reader.read(case["text"])
    titles = reader.domain.titles
    got_inc = {(c, v.lower()) for c, v in req.include}
    got_exc = {(c, v.lower()) for c, v in req.exclude}
    problems = []
    for c, v in case.get("include", []):
        if (c, v.lower()) not in got_inc:
            problems.append(f"missing include {c}={v}")
    for c, v in case.get("exclude", []):
        if (c, v.lower()) not in got_exc:
            problems.append(f"missing exclude {c}={v}")
    for c, v in case.get("not_include", []):
        if (c, v.lower()) in got_inc:
            problems.append(f"wrong include {c}={v}")
    tol = case.get("approx", 0.01)
    for col, lo, hi in case.get("ranges", []):
        rng = req.range_for(col)
        ok = rng is not None and all((a is None and b is None) or (a is not None and b is not None and abs(a - b) <= tol)
                                     for a, b in ((rng[0], lo), (rng[1], hi)))
        if not ok:
            problems.append(f"range {col} {lo}..{hi}: got {rng}")
    for col, lo, hi in case.get("ranges_negated", []):
        if not any(r.col == col and r.negated and r.lo == lo and r.hi is not None and abs(r.hi - hi) < 0.01
                   for r in req.ranges):
            problems.append(f"negated range {col} {lo}..{hi}: got {[(r.col, r.lo, r.hi, r.negated) for r in req.ranges]}")
    if "n" in case and req.n != case["n"]:
        problems.append(f"n {case['n']}: got {req.n}")
    for key, got in (("titles", req.titles), ("avoid", req.avoid_titles)):
        if key in case and sorted(titles[i] for i in got) != sorted(case[key]):
            problems.append(f"{key} {case[key]}: got {[titles[i] for i in got]}")
    for key in ("chit_chat", "wants_recs", "language", "terms", "residual"):
        if key in case and getattr(req, key) != case[key]:
            problems.append(f"{key} {case[key]!r}: got {getattr(req, key)!r}")
    return problems


@pytest.mark.parametrize("case", CASES, ids=[f"{c['catalog']}:{c['text'][:40]}" for c in CASES])
def test_labelled_request(case: dict[str, Any], readers: dict[str, Reader]) -> None:
    if case["catalog"] not in readers:
        pytest.skip(f"{case['catalog']} data not present")
    assert _check(case, readers[case["catalog"]]) == []


def test_enough_labels_on_every_catalog() -> None:
    by = {c["catalog"] for c in CASES}
    assert len(CASES) >= 60 and by == {"movielens", "lastfm", "store"}


def test_conversation_accumulates_and_narrows(readers: dict[str, Reader]) -> None:
    r = readers["movielens"]
    req, ages = read_conversation(r, ["I'm in the mood for drama and thriller.", "From the 2010s, please.",
                                      "Hmm, made in 2012 I think.", "but no thriller"])
    assert ("genres", "Drama") in req.include and ("genres", "Thriller") in req.exclude
    assert req.range_for("year") == (2012.0, 2012.999)
    assert ages["+genres=Drama"] == 3 and ages["range:year"] == 1
    fresh, _ = read_conversation(r, ["a comedy from the 80s", "something completely different: a western"])
    assert fresh.include == [("genres", "Western")] and fresh.ranges == []
    disjoint, _ = read_conversation(r, ["a comedy from the 80s", "actually from the 2000s"])
    assert disjoint.range_for("year") == (2000.0, 2009.999)


def test_a_title_is_never_read_for_values_or_counts(readers: dict[str, Reader]) -> None:
    r = readers["movielens"]
    req = r.read("I liked Three Kings and Seven Samurai")
    assert req.n is None and req.include == []


def test_words_by_meaning_use_the_encoder(ml_domain) -> None:  # type: ignore[no-untyped-def]
    """Words no value names map to the nearest value names ("spooky" -> Horror); unrelated words map to nothing."""
    from models.embedder import get_embedder

    r = Reader(ml_domain, get_embedder(None).embed)
    assert ("genres", "Animation") in r.read("only animated ones").include
    assert ("genres", "Animation") in r.read("only animated ones").strong
    scary = r.read("a frightening movie").include
    assert scary and all(v.lower() in ("horror", "scary", "creepy", "frightening") for _, v in scary), scary
    assert r.read("please hurry up").include == []


def test_conversation_words_and_one_off_tags_are_not_read_by_meaning(readers: dict[str, Reader]) -> None:
    """"No, those don't fit, any other ideas?" states no condition, even where free tags such as "fito" or
    "brainstorm" exist: words about the conversation are not content, and a value only one or two items carry
    is read when it is said, not when some word merely resembles it."""
    from models.embedder import get_embedder

    if "lastfm" not in readers:
        pytest.skip("lastfm data not present")
    r = Reader(readers["lastfm"].domain, get_embedder(None).embed)
    for text in ("No, those don't fit. Try another one.", "No, try again. Any other ideas?", "hello there",
                 "no emo pls", "what sounds like Daft Punk but newer"):
        req = r.read(text)
        assert req.include == [] and "pl" not in {v for _, v in req.exclude}, (text, req.include, req.exclude)
    rare = next(v for v in r.vocab.values if v.df == 1 and v.text.isalpha() and len(v.text) > 4)
    assert (rare.col, rare.text) in r.read(f"something tagged {rare.text} please").include


def test_parts_of_longer_values_and_the_speakers_verbs_are_not_read_by_meaning(readers: dict[str, Reader]) -> None:
    """ "a electronic feel" is not the tag "feelgood" nor "feel good", "I remember" is not "remember him": a
    fragment of a longer value resembles it by its letters, and the word after "I" is the speaker's verb."""
    from models.embedder import get_embedder

    if "lastfm" not in readers:
        pytest.skip("lastfm data not present")
    r = Reader(readers["lastfm"].domain, get_embedder(None).embed)
    for text, want in (("Something with an electronic feel.", {("tags", "electronic")}),
                       ("Tagged indie, I remember. It's kind of alternative rock.",
                        {("tags", "indie"), ("tags", "alternative rock")})):
        got = {(c, v.lower()) for c, v in r.read(text).include}
        assert got == want, (text, got)


def test_ones_and_another_one_count_nothing(readers: dict[str, Reader]) -> None:
    r = readers["movielens"]
    for text in ("Not these ones. Any other ideas?", "try another one, any other suggestion?",
                 "show me different ones please"):
        assert r.read(text).n is None, text
    assert r.read("just one more comedy").n == 1
    assert r.read("give me three comedies").n == 3


def test_a_title_running_on_past_a_period_is_one_title(readers: dict[str, Reader]) -> None:
    """ "Taio Cruz Feat. Kylie Minogue" is one artist, not "Taio Cruz" and "Kylie Minogue" with a stray "feat"."""
    if "lastfm" not in readers:
        pytest.skip("lastfm data not present")
    r = readers["lastfm"]
    titles = r.domain.titles
    req = r.read("No, those don't fit. I liked Tinie Tempah feat. Kelly Rowland and Taio Cruz Feat. Kylie Minogue.")
    assert sorted(titles[i] for i in req.titles) == ["Taio Cruz Feat. Kylie Minogue", "Tinie Tempah feat. Kelly Rowland"]
    assert sorted(titles[i] for i in r.read("I loved Muse. Radiohead too.").titles) == ["Muse", "Radiohead"]


def test_a_capitalised_tag_that_names_an_obscure_item_is_the_tag(readers: dict[str, Reader]) -> None:
    """Last.fm has an artist called "Soundtrack" and a tag "soundtrack": the tag labels more artists than the
    artist has plays, so "a Soundtrack feel" asks for the tag; "Muse" is far better known as the band."""
    if "lastfm" not in readers:
        pytest.skip("lastfm data not present")
    r = readers["lastfm"]
    req = r.read("I need a good artist. Something with a Soundtrack feel.")
    assert ("tags", "soundtrack") in {(c, v.lower()) for c, v in req.include} and req.titles == []
    assert [r.domain.titles[i] for i in r.read("I loved Muse").titles] == ["Muse"]


def test_the_domains_own_words_from_config(tmp_path: Path, artifacts_root: Path) -> None:
    """`[understanding]` low / zero / units: "cheap", "free", "bucks" mean what this catalog's config says."""
    subprocess.run([sys.executable, str(ROOT / "benchmarks/domains/store/generate.py"), "--out", str(tmp_path),
                    "--items", "500", "--seed", "1"], check=True, capture_output=True)
    cfg = (tmp_path / "domain.toml").read_text().replace('name = "store"', 'name = "storewords"')
    (tmp_path / "domain.toml").write_text(cfg + '\n[understanding]\nlow = { price = ["cheap"] }\n'
                                          'zero = { price = ["free"] }\nunits = { price = ["buck"] }\n')
    r = Reader(_build(tmp_path, artifacts_root))
    cheap = r.read("cheap ones please").range_for("price")
    assert cheap is not None and cheap[0] is None and 0 < cheap[1] < 20
    assert r.read("free games").range_for("price") == (None, 0.0)
    assert r.read("around 20 bucks").range_for("price") == (16.0, 24.0)
    assert r.read("cheap ones").residual == []
