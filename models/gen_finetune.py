"""RecLM-gen fine-tuning: supervised recommendation tasks from the domain, LoRA on a small causal LM.

Why: the 1.5B chat model knows famous titles but not this catalog's users; RecLM-gen teaches the LM the
domain's sequences with supervised tasks. Everything loads offline:

- the model: any local Hugging Face folder (`model_path`), the embedded GGUF through transformers' GGUF
  loading (`gguf_path`, needs the `gguf` package; dequantised to fp32: ~9 GB RAM for the 1.5B model, so
  a GPU or a big machine), or `tiny=True`: a randomly initialised Qwen2 of a few hundred thousand
  parameters with a BPE tokenizer trained on the task texts, for the CPU smoke test (no download; it
  proves the pipeline, not the quality).
- the tasks (`build_examples`), all from the train split only:
  next-item (history -> the next item), controlled ("like X but more <category>" -> the next item that has
  that category), and category-share ("a <category> <item>" -> the next item of that category).
- LoRA adapters (peft) on the attention projections; the prompt tokens are masked out of the loss.
- CUDA when present, else CPU.

Serving the result: `adapter/` is a peft adapter (load the base model, `PeftModel.from_pretrained`, then
generate with transformers directly, e.g. with a prefix-allowed-tokens function over the same title trie);
`merged/` (with `merge=True`) is a plain HF model, which llama.cpp's `convert_hf_to_gguf.py` + `llama-quantize`
turn into a GGUF for `INTEREC_LLM_GGUF` (the local server), where `models.constrained` applies unchanged.
See docs/RECLM_GEN.md.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.catalog import LIST_SEP
from models.constrained import GEN_SYSTEM
from models.titles import display_title
from prompts import template

if TYPE_CHECKING:
    from models.domain import Domain

TASKS = ("next", "controlled", "category")


@dataclass
class Example:
    task: str
    prompt: str
    answer: str


@dataclass
class GenTuneConfig:
    model_path: str | None = None  # a local HF folder
    gguf_path: str | None = None  # a GGUF file loaded through transformers (needs `gguf`)
    tiny: bool = False  # a random tiny Qwen2 + a BPE tokenizer trained on the examples (smoke test)
    per_task: int = 200  # examples per task
    epochs: int = 1
    batch_size: int = 8
    lr: float = 2e-4
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    max_len: int = 256
    history: int = 10
    seed: int = 0
    device: str = "auto"
    threads: int = 0  # torch threads on CPU (0: leave torch's default)
    merge: bool = False  # also save the LoRA-merged full model (for conversion to GGUF)
    targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


def _category_column(domain: Domain) -> str | None:
    lists = [c.name for c in domain.schema.columns if c.kind == "list"]
    return lists[0] if lists else None


def _categories(domain: Domain, col: str | None) -> list[list[str]]:
    if col is None:
        return [[] for _ in domain.titles]
    nulls = {x.lower() for x in domain.config.items.null_values}  # the catalog drops them at build; older builds kept them
    out = []
    for v in domain.items[col].tolist():
        vals = [x.strip() for x in str(v).split(LIST_SEP)] if isinstance(v, str) and v else []
        out.append([x for x in vals if x and x.lower() not in nulls])
    return out


def build_examples(domain: Domain, sequences: Sequence[np.ndarray], per_task: int = 200, history: int = 10,
                   seed: int = 0, tasks: Sequence[str] = TASKS) -> list[Example]:
    """Supervised examples from train sequences: at a random cut of a random user, history -> next item."""
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)}")
    rng = random.Random(seed)
    word = domain.config.item_word
    col = _category_column(domain)
    cats = _categories(domain, col)
    users = [u for u, s in enumerate(sequences) if len(s) >= 2]
    if not users:
        raise ValueError("no user has two or more train interactions: nothing to learn from")
    title = [display_title(t) for t in domain.titles]
    out: list[Example] = []
    for task in tasks:
        made, tries = 0, 0
        while made < per_task and tries < per_task * 20:
            tries += 1
            seq = sequences[rng.choice(users)]
            cut = rng.randrange(1, len(seq))
            hist = [int(i) for i in seq[max(0, cut - history):cut]]
            target = int(seq[cut])
            liked = "; ".join(title[i] for i in hist)
            fill = {"Items": word.capitalize() + "s", "liked": liked, "count": f"1 {word}"}
            if task == "next":
                prompt = template("gen_user").format(**fill)
            else:
                if not cats[target]:
                    continue
                c = rng.choice(cats[target])
                if task == "controlled":
                    x = rng.choice(hist)
                    if c in cats[x]:
                        continue  # "like X but more c" only when X is not already c
                    want = template("gen_want_like").format(title=title[x], quality=c.lower())
                else:
                    want = template("gen_want_kind").format(kind=c.lower(), item=word)
                prompt = template("gen_user_want").format(request=want, **fill)
            out.append(Example(task, prompt, f"1. {title[target]}\n"))
            made += 1
    rng.shuffle(out)
    return out


# ---- model and tokenizer ---------------------------------------------------------------------------------
def _device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _tiny_tokenizer(texts: Sequence[str]) -> Any:
    """A byte-level BPE tokenizer trained on the examples (no download), with a chat-style template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<|pad|>", "<|end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|pad|>", eos_token="<|end|>")


def _tiny_model(vocab: int) -> Any:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    cfg = Qwen2Config(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      tie_word_embeddings=True)
    return Qwen2ForCausalLM(cfg)


def load_base(cfg: GenTuneConfig, texts: Sequence[str]) -> tuple[Any, Any, str]:
    """(model, tokenizer, description) from the config; one clear error when nothing is configured."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if cfg.tiny:
        torch.manual_seed(cfg.seed)
        tok = _tiny_tokenizer(texts)
        return _tiny_model(len(tok)), tok, "tiny random Qwen2 (smoke test)"
    if cfg.model_path:
        path = Path(cfg.model_path)
        if not path.is_dir():
            raise ValueError(f"--base {path} is not a local model folder")
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, torch_dtype=torch.float32)
        return model, tok, str(path)
    if cfg.gguf_path:
        gguf = Path(cfg.gguf_path)
        if not gguf.is_file():
            raise ValueError(f"--gguf {gguf} does not exist")
        try:
            import gguf as _gguf  # noqa: F401
        except ImportError:
            raise ValueError("loading a GGUF in transformers needs the `gguf` package: pip install '.[finetune]'") from None
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        return model, tok, str(gguf)
    raise ValueError("choose a base model: a local HF folder (--base), a GGUF (--gguf), or --tiny for a smoke test")


def _render(tok: Any, word: str, ex: Example) -> tuple[str, str]:
    """(prompt text, answer text) in the model's chat format when it has one."""
    system = GEN_SYSTEM.format(items=word + "s")
    if getattr(tok, "chat_template", None):
        prompt = tok.apply_chat_template([{"role": "system", "content": system}, {"role": "user", "content": ex.prompt}],
                                         tokenize=False, add_generation_prompt=True)
    else:
        prompt = f"{system}\nUser: {ex.prompt}\nAssistant: "
    return prompt, ex.answer + (tok.eos_token or "")


def encode(tok: Any, word: str, examples: Sequence[Example], max_len: int) -> list[tuple[list[int], list[int]]]:
    """Token ids and labels per example; prompt tokens get label -100 (only the answer is learned)."""
    out = []
    for ex in examples:
        p, a = _render(tok, word, ex)
        pi = tok(p, add_special_tokens=False)["input_ids"]
        ai = tok(a, add_special_tokens=False)["input_ids"]
        ids = (pi + ai)[-max_len:]
        labels = ([-100] * len(pi) + ai)[-max_len:]
        out.append((ids, labels))
    return out


def _batches(data: list[tuple[list[int], list[int]]], size: int, pad: int, rng: random.Random) -> Any:
    import torch

    order = list(range(len(data)))
    rng.shuffle(order)
    for k in range(0, len(order), size):
        chunk = [data[i] for i in order[k:k + size]]
        n = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), n), pad, dtype=torch.long)
        lab = torch.full((len(chunk), n), -100, dtype=torch.long)
        att = torch.zeros((len(chunk), n), dtype=torch.long)
        for r, (x, y) in enumerate(chunk):
            ids[r, :len(x)] = torch.tensor(x)
            lab[r, :len(y)] = torch.tensor(y)
            att[r, :len(x)] = 1
        yield ids, lab, att


def finetune(domain: Domain, cfg: GenTuneConfig, out_dir: Path, *, sequences: Sequence[np.ndarray] | None = None,
             echo: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train LoRA adapters on the domain's tasks; saves the adapter (and merged model) under out_dir and
    returns {base, examples, losses, first_loss, last_loss, eval_loss_before/after, seconds, device}."""
    import torch
    from peft import LoraConfig, get_peft_model

    say = echo or (lambda s: None)
    if cfg.per_task < 1 or cfg.epochs < 1 or cfg.batch_size < 1 or not cfg.lr > 0 or cfg.lora_r < 1:
        raise ValueError("per_task, epochs, batch_size and lora_r must be at least 1 and lr positive")
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    if sequences is None:
        from models.recdata import from_domain

        sequences = from_domain(domain).train
    word = domain.config.item_word
    examples = build_examples(domain, sequences, cfg.per_task, cfg.history, cfg.seed)
    n_eval = max(8, len(examples) // 10)
    held, train = examples[:n_eval], examples[n_eval:]
    model, tok, base = load_base(cfg, [e.prompt + "\n" + e.answer for e in examples] + [GEN_SYSTEM])
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    dev = _device(cfg.device)
    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.targets), task_type="CAUSAL_LM")
    model = get_peft_model(model, lora).to(dev)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    say(f"gen fine-tuning: base {base}, {len(train)} train / {len(held)} held-out examples, "
        f"{trainable:,} trainable parameters, device {dev}")
    tr = encode(tok, word, train, cfg.max_len)
    ev = encode(tok, word, held, cfg.max_len)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    rng = random.Random(cfg.seed)

    def eval_loss() -> float:
        model.eval()
        tot, cnt = 0.0, 0
        with torch.no_grad():
            for ids, lab, att in _batches(ev, cfg.batch_size, tok.pad_token_id, random.Random(0)):
                out = model(input_ids=ids.to(dev), attention_mask=att.to(dev), labels=lab.to(dev))
                tot += out.loss.item() * len(ids)
                cnt += len(ids)
        model.train()
        return tot / max(cnt, 1)

    start = time.perf_counter()
    before = eval_loss()
    losses: list[float] = []
    model.train()
    for _ in range(cfg.epochs):
        for ids, lab, att in _batches(tr, cfg.batch_size, tok.pad_token_id, rng):
            out = model(input_ids=ids.to(dev), attention_mask=att.to(dev), labels=lab.to(dev))
            loss = out.loss.item()
            if not math.isfinite(loss):
                raise RuntimeError(f"the training loss became {loss}: lower --lr")
            out.loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(round(loss, 4))
    after = eval_loss()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir / "adapter"))
    tok.save_pretrained(out_dir / "adapter")
    if cfg.merge:
        merged: Any = model.merge_and_unload()
        merged.save_pretrained(str(out_dir / "merged"))
        tok.save_pretrained(out_dir / "merged")
    k = max(1, len(losses) // 10)
    report = {"base": base, "device": str(dev), "examples": len(train), "held_out": len(held),
              "tasks": {t: sum(1 for e in examples if e.task == t) for t in TASKS},
              "trainable_params": trainable, "steps": len(losses), "losses": losses,
              "first_loss": round(sum(losses[:k]) / k, 4), "last_loss": round(sum(losses[-k:]) / k, 4),
              "eval_loss_before": round(before, 4), "eval_loss_after": round(after, 4),
              "seconds": round(time.perf_counter() - start, 2), "config": asdict(cfg)}
    (out_dir / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    (out_dir / "examples.jsonl").write_text("\n".join(json.dumps(asdict(e)) for e in examples[:50]) + "\n",
                                            encoding="utf-8")
    say(f"loss {report['first_loss']} -> {report['last_loss']} (held-out {before:.4f} -> {after:.4f}), "
        f"{report['seconds']} s -> {out_dir}")
    return report
