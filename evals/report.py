"""Markdown tables and PNG plots of a run's results.json (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TABLES: dict[str, list[tuple[str, str]]] = {  # suite -> (column header, metric key)
    "simulator": [("lenient H@5", "lenient_H@5"), ("95% CI", "lenient_H@5_ci95"), ("lenient AT@5", "lenient_AT@5"),
                  ("strict H@5", "strict_H@5"), ("95% CI", "strict_H@5_ci95"), ("strict AT@5", "strict_AT@5"),
                  ("strict H@5 non-trivial", "strict_H@5_non_trivial"), ("95% CI", "strict_H@5_non_trivial_ci95"),
                  ("LLM calls/turn", "llm_calls_per_turn"), ("latency mean s", "latency_mean_s"),
                  ("p95 s", "latency_p95_s"), ("errors", "errors")],
    "one-turn-retrieval": [("strict R@5", "strict_R@5"), ("95% CI", "strict_R@5_ci95"), ("lenient R@5", "lenient_R@5"),
                           ("NDCG@5", "NDCG@5"), ("LLM calls", "llm_calls"), ("latency s", "latency_mean_s"),
                           ("errors", "errors")],
    "one-turn-ranking": [("N@20", "N@20"), ("Hit@5", "Hit@5"), ("MRR@20", "MRR@20"),
                         ("ranked by system", "ranked_by_system"), ("LLM calls", "llm_calls"),
                         ("latency s", "latency_mean_s"), ("errors", "errors")],
    "retrieval": [(f"{m}@{k}", f"{m}@{k}") for m in ("NDCG", "Recall", "MRR") for k in (5, 10, 20)]
    + [("Hit@1", "Hit@1"), ("Precision@5", "Precision@5"), ("MAP@20", "MAP@20"), ("not in catalog", "not_in_catalog"),
       ("duplicate", "duplicate"), ("history copy", "history_copy"), ("latency s", "latency_mean_s")],
    "ranking": [(f"{m}@{k}", f"{m}@{k}") for m in ("NDCG", "Hit", "MRR") for k in (1, 5, 10, 20)]
    + [("MAP@20", "MAP@20"), ("N@20 completed", "N@20_completed"), ("not in candidates", "not_in_candidates"),
       ("duplicate", "duplicate"), ("history copy", "history_copy"), ("latency s", "latency_mean_s")],
    "explanation": [("cases", "cases"), ("mean words", "mean_words"), ("empty", "empty"), ("LLM calls", "llm_calls"),
                    ("errors", "errors")],
}
HEADLINE = {"simulator": ("lenient_H@5", "strict_H@5"), "one-turn-retrieval": ("strict_R@5", "lenient_R@5"),
            "one-turn-ranking": ("N@20",), "retrieval": ("NDCG@20", "Recall@20"), "ranking": ("NDCG@20", "N@20_completed")}


def _fmt(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:.3f}"
    return "" if v is None else str(v)


def markdown(results: dict[str, Any]) -> str:
    cfg = results["config"]
    suite = cfg["suite"]
    lines = [f"# {suite} on {cfg['domain']}", "",
             f"cases: {cfg['n']}, seed {cfg['seed']}, llm: {cfg['llm']}"
             + (f", simulator: {cfg['simulator']}, max turns {cfg['max_turns']}" if suite in ("simulator", "one-turn-retrieval") else "")
             + (f", bank: {cfg['bank']}, budget {cfg.get('budget')}" if suite in ("simulator", "one-turn-retrieval") and "bank" in cfg else "")
             + (f", cases: {cfg['split']} users" if "split" in cfg else ""),
             ""]
    runs: dict[tuple[str, bool, str], list[str]] = {}
    for name, m in results["systems"].items():
        p = m.get("provenance") or results.get("provenance")
        if p:
            made = m.get("records_commits")
            label = name + (f" (cases made at {', '.join(made)})" if made and made != [p["commit"][:12]] else "")
            runs.setdefault((p["commit"][:12], bool(p.get("dirty")), p["command"]), []).append(label)
    if runs:
        lines[-1:] = [f"- {', '.join(names)}: commit {c}{' (dirty tree)' if dirty else ''}, `{cmd}`"
                      for (c, dirty, cmd), names in runs.items()] + [""]
    cols = TABLES[suite]
    lines.append("| system | " + " | ".join(h for h, _ in cols) + " |")
    lines.append("|---|" + "---|" * len(cols))
    for name, m in results["systems"].items():
        label = f"{name} ({m['llm']})" if m.get("llm") not in (None, "none") else name
        label += f" [{m['note']}]" if m.get("note") else ""
        lines.append(f"| {label} | " + " | ".join(_fmt(m.get(k)) for _, k in cols) + " |")
    if suite == "simulator":
        k = cfg["max_turns"]
        for judge in ("lenient", "strict"):
            lines += ["", f"Hit rate by turn ({judge} judge):", "",
                      "| system | " + " | ".join(f"turn {t}" for t in range(1, k + 1)) + " |",
                      "|---|" + "---|" * k]
            for name, m in results["systems"].items():
                lines.append(f"| {name} | " + " | ".join(_fmt(x) for x in m[f"{judge}_curve"]) + " |")
        first: dict[str, Any] = next(iter(results["systems"].values()), {})
        if "trivial_share" in first:
            lines += ["", f"Identifiability (same cases for every system): median rank of the target by popularity "
                      f"among the items matching every revealed fact {_fmt(first['ident_rank_median'])}; "
                      f"{first['non_trivial_cases']} of {first['cases']} cases non-trivial (rank > 5), "
                      f"{_fmt(first['trivial_share'])} pinned down by the facts alone."]
        if results.get("paired"):
            lines += ["", "Per case vs keyword (strict judge): wins = this system hit and keyword missed, losses = the "
                      "reverse:", "", "| system | cases | wins | losses | both hit | both miss |", "|---|---|---|---|---|---|"]
            lines += [f"| {n} | {p['cases']} | {p['wins']} | {p['losses']} | {p['both_hit']} | {p['both_miss']} |"
                      for n, p in results["paired"].items()]
        sims = [(n, m) for n, m in results["systems"].items() if m.get("sim_llm_calls_per_turn")]
        if sims:
            lines += ["", "Simulator LLM: calls per turn, replies regenerated by the leak guard, templated fallbacks:", ""]
            lines += [f"- {n}: {m['sim_llm_calls_per_turn']}, {m['sim_regenerated']}, {m['sim_fallbacks']}" for n, m in sims]
    if "pairwise" in results:
        lines += ["", "Pairwise judge (score of the first system of the pair: 1 = always wins, 0.5 = even; "
                  "both orders):", "", "| pair | cases | informativeness | persuasiveness | helpfulness | "
                  "order consistency | invalid |", "|---|---|---|---|---|---|---|"]
        for pair, p in results["pairwise"].items():
            lines.append(f"| {pair.replace('|', ' vs ')} | {p['cases']} | {_fmt(p['informativeness'])} | "
                         f"{_fmt(p['persuasiveness'])} | {_fmt(p['helpfulness'])} | {_fmt(p['order_consistency'])} | "
                         f"{p['invalid_judgements']} |")
    if results.get("notes"):
        lines += ["", *results["notes"]]
    lines += ["", "Timings (s): " + ", ".join(
        f"{n} {t['run_s']}" + (f" ({t['new_cases']} new)" if "new_cases" in t else "")
        for n, t in results["timings"].items() if isinstance(t, dict)) + f"; total {results['timings'].get('total_s')}"]
    return "\n".join(lines) + "\n"


def plots(root: Path, results: dict[str, Any]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suite = results["config"]["suite"]
    systems = results["systems"]
    out: list[Path] = []
    if suite == "simulator" and systems:
        k = results["config"]["max_turns"]
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
        for ax, judge in zip(axes, ("lenient", "strict"), strict=True):
            for name, m in systems.items():
                ax.plot(range(1, k + 1), m[f"{judge}_curve"], marker="o", label=name)
            ax.set_title(f"hit rate by turn ({judge} judge)")
            ax.set_xlabel("turn")
            ax.set_xticks(range(1, k + 1))
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("share of targets found")
        axes[0].set_ylim(0, 1)
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        path = root / "hit_by_turn.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        out.append(path)
    keys = HEADLINE.get(suite)
    if keys and systems:
        names = list(systems)
        fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(names) + 2), 4))
        width = 0.8 / len(keys)
        for j, key in enumerate(keys):
            vals = [float(systems[n].get(key) or 0.0) for n in names]
            xs = [i + (j - (len(keys) - 1) / 2) * width for i in range(len(names))]
            bars = ax.bar(xs, vals, width, label=key)
            for b, v in zip(bars, vals, strict=True):
                ax.text(b.get_x() + b.get_width() / 2, v + 0.01, f"{v:.2f}", ha="center", fontsize=7)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=20)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{suite} on {results['config']['domain']} (n={results['config']['n']})")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = root / "metrics.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        out.append(path)
    return out


def write_report(root: Path, results: dict[str, Any]) -> Path:
    path = Path(root) / "report.md"
    text = markdown(results)
    try:
        images = plots(Path(root), results)
    except ImportError:
        images = []
        text += "\n(matplotlib is not installed: no plots)\n"
    text += "".join(f"\n![{p.stem}]({p.name})\n" for p in images)
    path.write_text(text, encoding="utf-8")
    return path
