"""RecLM-emb style (query, item) pairs generated from a domain's own data, for any catalog.

Eight query types (RecLM-emb names): UH2I user history -> next item, I2I item -> co-consumed item,
FA2I full attributes, SA2I sparse attributes, NM2I misspelled name, VC2I vague condition,
NA2I negative attribute ("not horror"), UQ2I history + explicit query.

Why the split discipline: training pairs come from the TRAIN split only, and no item that is any user's
valid or test target is ever a training positive. Held-out queries are built from exactly those
valid/test targets, so the retrieval benchmark measures generalisation to items and users the encoder
never saw as answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from models.bm25 import BM25
from models.emb_facts import ItemFacts, article_for, misspell, num_text
from models.recdata import SplitSequences

if TYPE_CHECKING:
    from models.domain import Domain

QUERY_TYPES = ("UH2I", "I2I", "FA2I", "SA2I", "NM2I", "VC2I", "NA2I", "UQ2I")
USER_TYPES = ("UH2I", "I2I", "UQ2I")


@dataclass
class Pair:
    """One query with its positive item and (for training) a hard negative item; uid -1 if not a user query."""

    kind: str
    query: str
    pos: int
    neg: int = -1
    uid: int = -1
    history: tuple[int, ...] = ()


class PairGenerator:
    """Builds training pairs (train split only) and held-out queries (valid/test targets)."""

    def __init__(self, facts: ItemFacts, data: SplitSequences, item_texts: list[str], seed: int = 0,
                 history_len: int = 6, neighbours: Callable[[int, int], np.ndarray] | None = None):
        self.f = facts
        self.data = data
        self.texts = item_texts
        self.seed = seed
        self.history_len = history_len
        self.heldout = heldout_items(data)
        counts = np.zeros(data.n_items)
        for s in data.train:
            np.add.at(counts, s, 1.0)
        self.popularity = counts
        self.trainable = np.array([i for i in range(data.n_items) if i not in self.heldout], dtype=np.int64)
        self._pop_cdf = np.cumsum(counts + 1.0) / (counts.sum() + len(counts))
        w = np.sqrt(counts[self.trainable] + 1.0)
        self._target_cdf = np.cumsum(w) / w.sum() if len(w) else w
        self._bm25: BM25 | None = None
        self._cooc = neighbours

    # ------------------------------------------------------------------ helpers
    @property
    def bm25(self) -> BM25:
        if self._bm25 is None:
            self._bm25 = BM25(self.texts)
        return self._bm25

    def lookalikes(self, i: int, k: int = 30) -> np.ndarray:
        """Lexically similar items (BM25 of the item's own text), best first, without i itself."""
        top = self.bm25.top(self.texts[i], k + 1)
        return top[top != i]

    def _co_consumed(self, i: int, k: int = 10) -> np.ndarray:
        if self._cooc is not None:
            return self._cooc(i, k)
        return np.empty(0, np.int64)

    def _random_negative(self, rng: np.random.Generator, exclude: set[int]) -> int:
        for _ in range(20):
            j = min(int(np.searchsorted(self._pop_cdf, rng.random())), self.data.n_items - 1)
            if j not in exclude:
                return j
        return int(rng.integers(self.data.n_items))

    def _lookalike_negative(self, i: int, rng: np.random.Generator, ok: Callable[[int], bool] | None = None) -> int:
        for j in self.lookalikes(i, 30):
            j = int(j)
            if self.f.titles[j] != self.f.titles[i] and (ok is None or ok(j)):
                return j
        return self._random_negative(rng, {i})

    def _history_text(self, hist: np.ndarray, rng: np.random.Generator) -> str:
        titles = "; ".join(self.f.titles[int(j)] for j in hist)
        w = self.f.word
        return str(rng.choice([f"I enjoyed these {w}s: {titles}.", f"My recent {w}s: {titles}.",
                               f"History: {titles}.", f"I liked {titles}."]))

    # ------------------------------------------------------------------ query builders (target-centred)
    def q_full(self, i: int, rng: np.random.Generator) -> str | None:
        attrs = self.f.attributes(i)
        if not attrs:
            return None
        rng.shuffle(attrs)
        w = self.f.word
        body = "; ".join(f"{c.replace('_', ' ')}: {v}" for c, _, v in attrs)
        return str(rng.choice([f"A {w} with {body}", f"Find the {w} where {body}", body]))

    def _sparse_bits(self, i: int, rng: np.random.Generator, n: int) -> list[str]:
        bits = []
        for vals in self.f.lists.values():
            if vals[i]:
                bits.append(f"{rng.choice(vals[i])}")
        for col, arr in self.f.numbers.items():
            if not np.isnan(arr[i]):
                bits.append(f"from {num_text(arr[i])}" if self.f.is_year(col)
                            else f"with {col.replace('_', ' ')} {num_text(arr[i])}")
        for phr in self.f.texts.values():
            if phr[i]:
                bits.append(f"tagged '{rng.choice(phr[i])}'" if len(phr[i]) > 1 else f"about {phr[i][0]}")
        rng.shuffle(bits)
        return bits[:n]

    def q_sparse(self, i: int, rng: np.random.Generator) -> str | None:
        bits = self._sparse_bits(i, rng, int(rng.integers(2, 4)))
        if len(bits) < 2:
            return None
        pre = [b for b in bits if not b.startswith(("from ", "with ", "tagged ", "about "))]
        post = [b for b in bits if b not in pre]
        head = " ".join([*pre, self.f.word])
        return " ".join(f"{article_for(head)} {head} {' '.join(post)}".split())

    def q_misspelled(self, i: int, rng: np.random.Generator) -> str | None:
        return misspell(self.f.titles[i], rng)

    def q_vague(self, i: int, rng: np.random.Generator) -> str | None:
        conds, lead = [], []
        for col, arr in self.f.numbers.items():
            v = arr[i]
            if np.isnan(v):
                continue
            if self.f.is_year(col):
                dec = int(v // 10 * 10)
                conds.append(str(rng.choice([f"from the {dec}s", f"from the {str(dec)[2:]}s",
                                             f"released around {int(v) + int(rng.integers(-2, 3))}"])))
            else:
                conds.append(f"with {col.replace('_', ' ')} around {num_text(round(v, -int(np.log10(abs(v) + 1e-9)) + 1) if v else v)}")
        for vals in self.f.lists.values():
            if vals[i]:
                lead.append(str(rng.choice(vals[i])).lower())
        for phr in self.f.texts.values():
            if phr[i]:
                conds.append(f"with a {rng.choice(phr[i])} feel")
        if not conds and not lead:
            return None
        w = self.f.word
        tail = " ".join(conds[: int(rng.integers(1, 3))]) if conds else ""
        kind = f"{lead[0]} " if lead else ""
        q = str(rng.choice([f"I'm in the mood for {article_for(kind or w)} {kind}{w} {tail}", f"Any {kind}{w}s {tail}?",
                            f"Looking for something {lead[0]} {tail}" if lead else f"Looking for {article_for(w)} {w} {tail}"]))
        return " ".join(q.split())

    def _negation(self, i: int, rng: np.random.Generator) -> tuple[str, int] | None:
        """A value to exclude, taken from a look-alike item that has it while item i does not.

        The look-alike becomes the hard negative, so the encoder learns what "not X" rules out.
        """
        cols = list(self.f.lists)
        if not cols:
            return None
        for j in self.lookalikes(i, 30):
            j = int(j)
            if self.f.titles[j] == self.f.titles[i]:
                continue
            for col in rng.permutation(cols):
                extra = [v for v in self.f.lists[col][j] if v not in self.f.lists[col][i]]
                if extra:
                    return str(rng.choice(extra)), j
        for col in rng.permutation(cols):  # no look-alike differs: any frequent absent value
            absent = [v for v in self.f.common[col] if v not in self.f.lists[col][i]]
            if absent:
                avoid = str(rng.choice(absent[:15]))
                holders = self.f.holders[col].get(avoid, np.empty(0, np.int64))
                return (avoid, int(rng.choice(holders))) if len(holders) else None
        return None

    def q_negative(self, i: int, rng: np.random.Generator) -> tuple[str, int] | None:
        """(query, hard negative): one or two of the item's attributes plus an attribute it lacks."""
        neg = self._negation(i, rng)
        bits = self._sparse_bits(i, rng, int(rng.integers(1, 3)))
        if neg is None or not bits:
            return None
        avoid, j = neg
        pre = [b for b in bits if not b.startswith(("from ", "with ", "tagged ", "about "))]
        post = [b for b in bits if b not in pre]
        head = " ".join([*pre, self.f.word])
        want = " ".join(f"{article_for(head)} {head} {' '.join(post)}".split())
        q = str(rng.choice([f"{want}, but not {avoid}", f"{want} without any {avoid}",
                            f"no {avoid} please, {want}", f"{want} that is not {avoid}"]))
        return q, j

    def _explicit(self, i: int, rng: np.random.Generator) -> str | None:
        bits = self._sparse_bits(i, rng, 1)
        if not bits:
            return None
        b = bits[0]
        return f"Now I want {article_for(self.f.word)} {self.f.word} {b}" if b.startswith(("from ", "with ", "tagged ", "about ")) \
            else f"Now I want {article_for(b)} {b} {self.f.word}"

    # ------------------------------------------------------------------ one pair per type
    def make(self, kind: str, target: int, rng: np.random.Generator, uid: int = -1,
             history: np.ndarray | None = None) -> Pair | None:
        i = int(target)
        if kind == "FA2I":
            q = self.q_full(i, rng)
            return Pair(kind, q, i, self._lookalike_negative(i, rng)) if q else None
        if kind == "SA2I":
            q = self.q_sparse(i, rng)
            return Pair(kind, q, i, self._lookalike_negative(i, rng)) if q else None
        if kind == "NM2I":
            q = self.q_misspelled(i, rng)
            return Pair(kind, q, i, self._lookalike_negative(i, rng)) if q else None
        if kind == "VC2I":
            q = self.q_vague(i, rng)
            return Pair(kind, q, i, self._lookalike_negative(i, rng)) if q else None
        if kind == "NA2I":
            r = self.q_negative(i, rng)
            return Pair(kind, r[0], i, r[1]) if r else None
        hist = np.asarray(history if history is not None else [], dtype=np.int64)[-self.history_len:]
        if kind == "I2I":
            if len(hist) == 0:
                return None
            anchor = self.f.titles[int(hist[-1])]
            w = self.f.word
            q = str(rng.choice([f"{w}s similar to {anchor}", f"If I liked {anchor}, what should I try next?",
                                f"People who liked {anchor} also liked"]))
            return Pair(kind, q, i, self._random_negative(rng, {i, int(hist[-1])}), uid, (int(hist[-1]),))
        if kind in ("UH2I", "UQ2I"):
            if len(hist) == 0:
                return None
            q = self._history_text(hist, rng)
            if kind == "UQ2I":
                ex = self._explicit(i, rng)
                if ex is None:
                    return None
                q = f"{q} {ex}"
            neg = self._random_negative(rng, {i, *map(int, hist)})
            return Pair(kind, q, i, neg, uid, tuple(int(x) for x in hist))
        raise ValueError(f"unknown query type {kind}")

    # ------------------------------------------------------------------ datasets
    def training_pairs(self, per_type: int = 2000, types: tuple[str, ...] = QUERY_TYPES) -> list[Pair]:
        """Pairs from the train split; positives are never valid/test targets of any user."""
        rng = np.random.default_rng(self.seed)
        out: list[Pair] = []
        users = [u for u, s in enumerate(self.data.train) if len(s) >= 2]
        for kind in types:
            made, tries = 0, 0
            while made < per_type and tries < per_type * 20:
                tries += 1
                if kind in USER_TYPES:
                    if not users:
                        break
                    u = int(rng.choice(users))
                    seq = self.data.train[u]
                    if kind == "I2I":
                        anchor = int(rng.choice(seq))
                        cands = [int(j) for j in self._co_consumed(anchor, 10) if int(j) not in self.heldout]
                        if not cands:
                            continue
                        p = self.make(kind, int(rng.choice(cands[:5])), rng, -1, np.array([anchor]))
                    else:
                        t = int(rng.integers(1, len(seq)))
                        if int(seq[t]) in self.heldout:
                            continue
                        p = self.make(kind, int(seq[t]), rng, u, seq[max(0, t - self.history_len):t])
                else:
                    if len(self.trainable) == 0:
                        break
                    k = min(int(np.searchsorted(self._target_cdf, rng.random())), len(self.trainable) - 1)
                    p = self.make(kind, int(self.trainable[k]), rng)
                if p is not None:
                    out.append(p)
                    made += 1
        rng.shuffle(out)
        return out

    def heldout_queries(self, per_type: int = 300, types: tuple[str, ...] = QUERY_TYPES,
                        seed: int | None = None) -> list[Pair]:
        """Queries whose answers are valid/test targets: users' next items, never training positives."""
        rng = np.random.default_rng(self.seed + 1000 if seed is None else seed)
        cases = []  # (uid, history, target): valid targets after train, test targets after train+valid
        for u in range(self.data.n_users):
            tr, v, t = self.data.train[u], int(self.data.valid[u]), int(self.data.test[u])
            if v >= 0 and len(tr):
                cases.append((u, tr, v))
            if t >= 0:
                cases.append((u, np.append(tr, v) if v >= 0 else tr, t))
        targets = sorted({c[2] for c in cases})
        out: list[Pair] = []
        for kind in types:
            made = []
            if kind in USER_TYPES:
                for ci in rng.permutation(len(cases)):
                    u, hist, tgt = cases[int(ci)]
                    p = self.make(kind, tgt, rng, u, hist)
                    if p is not None:
                        made.append(p)
                    if len(made) >= per_type:
                        break
            else:
                for ti in rng.permutation(len(targets)):
                    p = self.make(kind, int(targets[int(ti)]), rng)
                    if p is not None:
                        made.append(p)
                    if len(made) >= per_type:
                        break
            out.extend(made)
        return out


def heldout_items(data: SplitSequences) -> set[int]:
    """Every item that is some user's valid or test target."""
    return {int(x) for x in np.concatenate([data.valid, data.test]) if x >= 0}


def generator_for_domain(domain: Domain, data: SplitSequences | None = None, seed: int = 0,
                         neighbours: Callable[[int, int], np.ndarray] | None = None) -> PairGenerator:
    """PairGenerator over a built `Domain` (column kinds from its config, texts from `item_text`)."""
    from models.recdata import from_domain
    from models.table_build import column_kinds

    cfg = domain.config
    data = data or from_domain(domain)
    facts = ItemFacts(domain.items, column_kinds(cfg), cfg.item_word, cfg.describe)
    texts = [domain.item_text(i) for i in range(int(domain.n_items))]
    return PairGenerator(facts, data, texts, seed=seed, neighbours=neighbours)
