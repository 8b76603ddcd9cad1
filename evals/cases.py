"""Evaluation cases from a domain's leave-last-out split: a user's recent history and the held-out target.

Cases are sampled from a seeded permutation of the users that have a test item, so the first n cases of a
seed never change when n grows (a run with --n 100 resumes one with --n 50).

Users are split once, by a hash of their id, into validation users (about VALID_SHARE of them: the only
ones any constant may be tuned on) and report users (the reported numbers), so no seed can mix them.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from models.catalog import LIST_SEP
from models.domain import Domain

MAX_HISTORY = 10
VALID_SHARE = 0.2
SPLITS = ("test", "valid")


def is_validation_user(user: str) -> bool:
    """Stable per user id, independent of seed, n and catalog order."""
    return zlib.crc32(f"interec-valid:{user}".encode()) % 1000 < VALID_SHARE * 1000


@dataclass(frozen=True)
class EvalCase:
    case_id: str  # stable: "<user>-<target iid>"
    user: str
    uid: int
    target: int  # iid of the held-out test item
    title: str
    history: tuple[int, ...]  # last <= 10 train/valid positives, oldest first
    history_titles: tuple[str, ...]
    attributes: dict[str, Any] = field(default_factory=dict)  # the target's attribute values (lists as lists)
    seen: tuple[int, ...] = ()  # every positive of the user except the target (for negatives and masking)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def clean_value(v: Any) -> Any:
    """JSON-ready attribute value: None for missing, lists for "A|B" list columns, ints for whole floats."""
    if v is None:
        return None
    if isinstance(v, float | np.floating):
        if math.isnan(float(v)):
            return None
        return int(v) if float(v).is_integer() else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


def item_attributes(domain: Domain, iid: int) -> dict[str, Any]:
    """The user-facing attributes of one item (list columns split into lists)."""
    row = domain.items.iloc[int(iid)]
    out: dict[str, Any] = {}
    joins = {j.name for j in domain.config.items.joins}
    for col in domain.schema.columns:
        if col.name in ("title", "popularity"):
            continue
        v = clean_value(row.get(col.name))
        if v is None:
            continue
        if col.kind == "list":
            v = [x for x in str(v).split(LIST_SEP) if x]
        elif col.name in joins:  # aggregated per-item text (e.g. user tags), joined with ", "
            v = list(dict.fromkeys(x.strip() for x in str(v).split(",") if x.strip()))
        out[col.name] = v
    return out


def make_cases(domain: Domain, n: int, seed: int = 0, max_history: int = MAX_HISTORY,
               min_history: int = 1, split: str | None = None) -> list[EvalCase]:
    """Up to n cases: users with a test target and at least `min_history` earlier positives.

    split: "test" (report users), "valid" (validation users, for tuning) or None (every user)."""
    if split not in (None, *SPLITS):
        raise ValueError(f"unknown case split {split!r}: use test or valid")
    inter = domain.interactions
    pos = inter[inter["split"].isin(("train", "valid", "test"))]
    tests = pos[pos["split"] == "test"]
    if tests.empty:
        return []
    users = sorted(tests["uid"].unique().tolist())
    if split is not None:
        names = dict(zip(tests["uid"].tolist(), tests["user"].tolist(), strict=True))
        users = [u for u in users if is_validation_user(str(names[u])) == (split == "valid")]
    order = np.random.default_rng(seed).permutation(len(users))
    by_user = {int(u): g for u, g in pos.groupby("uid", sort=False)}
    titles = domain.titles
    cases: list[EvalCase] = []
    for k in order:
        if len(cases) >= n:
            break
        uid = int(users[int(k)])
        g = by_user[uid]
        target_rows = g[g["split"] == "test"]
        target = int(target_rows["iid"].iloc[-1])
        earlier = g[g["split"].isin(("train", "valid"))]["iid"].to_numpy(dtype=np.int64)
        earlier = earlier[earlier != target]
        if len(earlier) < min_history:
            continue
        hist: list[int] = []
        for i in earlier[::-1]:  # most recent first, unique, then back to time order
            if int(i) not in hist:
                hist.append(int(i))
            if len(hist) >= max_history:
                break
        hist.reverse()
        user = str(target_rows["user"].iloc[-1])
        cases.append(EvalCase(
            case_id=f"{user}-{target}", user=user, uid=uid, target=target, title=titles[target],
            history=tuple(hist), history_titles=tuple(titles[i] for i in hist),
            attributes=item_attributes(domain, target),
            seen=tuple(sorted({int(i) for i in earlier})),
        ))
    return cases


def sample_negatives(domain: Domain, case: EvalCase, k: int = 19, seed: int = 0) -> list[int]:
    """k random items the user never interacted with positively (never the target), seeded per case.

    A catalog too small for k negatives gives all it has."""
    rng = np.random.default_rng([seed, case.uid, case.target])
    banned = set(case.seen) | {case.target}
    n_items = len(domain.items)
    if n_items - len(banned) <= 2 * k:  # small catalog: sample without rejection
        pool = [i for i in range(n_items) if i not in banned]
        return [pool[i] for i in rng.permutation(len(pool))[:k]]
    out: list[int] = []
    while len(out) < k:
        for i in rng.integers(0, n_items, size=4 * k):
            i = int(i)
            if i not in banned and i not in out:
                out.append(i)
                if len(out) == k:
                    break
    return out


def ranking_candidates(domain: Domain, case: EvalCase, k: int = 19, seed: int = 0) -> list[int]:
    """The target and k negatives in a seeded random order (the position carries no signal)."""
    cands = [case.target, *sample_negatives(domain, case, k, seed)]
    rng = np.random.default_rng([seed, case.uid, case.target, 1])
    return [cands[i] for i in rng.permutation(len(cands))]
