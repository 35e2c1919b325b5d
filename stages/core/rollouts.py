"""Rollout-based curriculum [ours; paper §3 for data without FAIL/PASS/SOLVED traces].

For each context, G completions are sampled from a reference policy (a bootstrap warm-up, see
bootstrap.py; the untrained backbone; or a checkpoint) and scored with the partition's own reward mix
(``partition.rollouts.reward``, apart from grpo's ``reward``). A completion *resolves* its context when its
weighted reward (weights normalised to sum 1, so the threshold is in [0, 1]) reaches
``resolve_threshold``; a dialogue is easy when the mean resolution rate of its contexts reaches
``easy_min_rate``, else hard, so all turns of a dialogue land on the same side, as with the trace rule.

Sampling is the expensive part, so completions and their per-reward scores are cached under
``paths.rollouts_cache`` keyed by (checkpoint fingerprint, prompts, sampling settings); the scores
inside are keyed by (judge backend, reward names). Changing a threshold or the weights re-partitions
from the cache without generating or judging again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import defaultdict
from pathlib import Path
from statistics import mean, pstdev

from .format import ResponseFormat
from .io import checkpoint_fingerprint, write_json

log = logging.getLogger("kardia.rollouts")

def policy_path(cfg, bootstrap: Path | None = None) -> Path:
    """The checkpoint rollouts sample from; ``bootstrap`` is the warm-up's (policy: bootstrap)."""
    policy = cfg.partition.rollouts.policy
    if policy == "bootstrap":
        if bootstrap is None:
            raise ValueError("partition.rollouts.policy=bootstrap: train it first (bootstrap.ensure)")
        return bootstrap
    return Path(cfg.paths.base_model if policy == "base" else policy)


def select_contexts(examples: list[dict], max_contexts: int | None, seed: int) -> list[dict]:
    """At most ``max_contexts`` examples, whole dialogues drawn in a seeded order (at least one)."""
    if max_contexts is None or max_contexts >= len(examples):
        return examples
    by_dialogue: dict[str, list[dict]] = defaultdict(list)
    for ex in examples:
        by_dialogue[ex["dialogue_id"]].append(ex)
    order = sorted(by_dialogue)
    random.Random(seed).shuffle(order)
    chosen: list[dict] = []
    for d in order:
        if chosen and len(chosen) + len(by_dialogue[d]) > max_contexts:
            continue
        chosen.extend(by_dialogue[d])
    return sorted(chosen, key=lambda ex: ex["id"])


def sampling_settings(cfg) -> dict:
    ro = cfg.partition.rollouts
    return {"num_generations": ro.num_generations, "temperature": ro.temperature, "top_p": ro.top_p,
            "max_new_tokens": ro.max_new_tokens, "seed": cfg.seed, "dtype": cfg.model.dtype}


def cache_key(fingerprint: str, prompts: list, sampling: dict) -> str:
    blob = json.dumps({"policy": fingerprint, "prompts": prompts, "sampling": sampling}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def scorer_id(cfg) -> str:
    """Scores are reused only under the same judge (backend, model, rubric) and reward set."""
    from .judges import judge_settings

    return f"{judge_settings(cfg.judge)}:{','.join(cfg.partition.rollouts.reward.names)}"


def sample_completions(cfg, path: Path, contexts: list[dict]) -> list[list[str]]:
    from .devices import to_generation_device
    from .generation import generate
    from .modeling import load_checkpoint, set_threads

    set_threads()
    ro = cfg.partition.rollouts
    model, tokenizer = load_checkpoint(path, cfg.model.dtype)
    model = to_generation_device(model, "rollouts")
    prompts = [ex["prompt"] for ex in contexts for _ in range(ro.num_generations)]
    texts = generate(model, tokenizer, prompts, batch_size=ro.batch_size, max_new_tokens=ro.max_new_tokens,
                     do_sample=True, seed=cfg.seed, desc="rollouts", temperature=ro.temperature, top_p=ro.top_p)
    g = ro.num_generations
    return [texts[i * g:(i + 1) * g] for i in range(len(contexts))]


def score_completions(cfg, contexts: list[dict], completions: list[list[str]]) -> dict[str, list[list[float | None]]]:
    """Each reward of ``partition.rollouts.reward.names`` on every completion: {name: [[value per completion] per context]}."""
    from .judges import build_judge
    from .rewards import build_reward_funcs

    fmt = ResponseFormat.from_config(cfg.format)
    reward = cfg.partition.rollouts.reward
    funcs = build_reward_funcs(list(reward.names), fmt, build_judge(cfg.judge, cfg.paths.judge_cache),
                               reward.max_judge_failure_rate)
    flat = [c for group in completions for c in group]
    cols = {key: [ex[key] for ex, group in zip(contexts, completions) for _ in group]
            for key in ("emotion", "persona", "context")}
    prompts = [ex["prompt"] for ex, group in zip(contexts, completions) for _ in group]
    g = len(completions[0]) if completions else 0
    out = {}
    for name, fn in zip(reward.names, funcs):
        values = fn(prompts=prompts, completions=flat, **cols)
        out[name] = [values[i * g:(i + 1) * g] for i in range(len(completions))]
    return out


def load_or_sample(cfg, contexts: list[dict], bootstrap: Path | None = None) -> tuple[dict, bool]:
    """The cache entry for these contexts (completions + scores), creating what is missing.

    Returns (entry, generated) where ``generated`` says whether any sampling happened.
    """
    path = policy_path(cfg, bootstrap)
    fingerprint = checkpoint_fingerprint(path, "partition.rollouts.policy")
    key = cache_key(fingerprint, [ex["prompt"] for ex in contexts], sampling_settings(cfg))
    file = Path(cfg.paths.rollouts_cache) / f"{key}.json"
    entry = json.loads(file.read_text()) if file.exists() else None
    generated = entry is None
    if entry is None:
        log.info("rollouts: no cache at %s; sampling %d x %d completions from %s", file, len(contexts),
                 cfg.partition.rollouts.num_generations, path)
        entry = {"policy": str(path), "fingerprint": fingerprint, "sampling": sampling_settings(cfg),
                 "ids": [ex["id"] for ex in contexts], "completions": sample_completions(cfg, path, contexts),
                 "scores": {}}
    else:
        log.info("rollouts: cache hit %s", file)
    sid = scorer_id(cfg)
    if sid not in entry["scores"]:
        entry["scores"][sid] = score_completions(cfg, contexts, entry["completions"])
        write_json(file, entry)
    return entry, generated


def weighted_rewards(scores: dict[str, list[list[float | None]]], names: list[str], weights: list[float]) -> list[list[float]]:
    """Per completion, sum(w_i r_i) / sum(w_i) over the rewards that did not abstain (None)."""
    n_ctx = len(next(iter(scores.values())))
    out = []
    for i in range(n_ctx):
        row = []
        for j in range(len(scores[names[0]][i])):
            pairs = [(w, scores[n][i][j]) for n, w in zip(names, weights) if w > 0 and scores[n][i][j] is not None]
            total = sum(w for w, _ in pairs)
            row.append(sum(w * v for w, v in pairs) / total if total else 0.0)
        out.append(row)
    return out


def resolution(cfg, contexts: list[dict], entry: dict) -> tuple[dict[str, float], dict[str, float]]:
    """(resolution rate per dialogue, summary metrics) from a cache entry, under the current thresholds."""
    ro = cfg.partition.rollouts
    rewards = weighted_rewards(entry["scores"][scorer_id(cfg)], list(ro.reward.names), list(ro.reward.weights))
    per_dialogue: dict[str, list[float]] = defaultdict(list)
    zero_std = 0
    for ex, row in zip(contexts, rewards):
        per_dialogue[ex["dialogue_id"]].append(mean(r >= ro.resolve_threshold for r in row))
        zero_std += pstdev(row) == 0 if len(row) > 1 else 1
    rates = {d: mean(v) for d, v in per_dialogue.items()}
    flat = [r for row in rewards for r in row]
    summary = {"frac_reward_zero_std": zero_std / len(contexts) if contexts else 0.0,
               "mean_reward": mean(flat) if flat else 0.0,
               "mean_resolution_rate": mean(rates.values()) if rates else 0.0}
    for name, rows in entry["scores"][scorer_id(cfg)].items():   # e.g. mean_format: does the policy write the spans?
        values = [v for row in rows for v in row if v is not None]
        summary[f"mean_{name}"] = mean(values) if values else 0.0
    return rates, summary
