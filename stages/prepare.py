"""prepare: the corpus, validated, split persona-disjoint into per-turn examples, and the base backbone.

The corpus is the embedded synthetic one (data=synthetic) or KardiaBench (data=kardiabench: the hub,
or local files via data.path). Every record is validated; rejects go to paths.rejects with file, line,
id and reason, and prepare stops if more than data.max_reject_rate of the records are bad.
Outputs (conf/paths): the dialogues (KardiaBench record form), ``train.jsonl`` / ``test.jsonl``
with one example per assistant turn, ``stats.json``, the rejects, and the untrained backbone checkpoint.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from statistics import mean

from stages.core.data.corpus import check_reject_rate, read_records, split_records, validation_metrics
from stages.core.data.examples import dialogue_to_examples
from stages.core.data.validation import validate
from stages.core.format import ResponseFormat
from stages.core.io import write_json, write_jsonl
from stages.core.modeling import (
    build_tiny_model,
    build_tokenizer,
    chat_ids,
    count_parameters,
    load_hub_backbone,
    save_checkpoint,
)
from stages.core.stage import stage_main

log = logging.getLogger("kardia.prepare")


def tokenizer_corpus(examples: list[dict]):
    """Every text the model will read or write, from the train split only."""
    for ex in examples:
        for m in ex["prompt"] + ex["completion"]:
            yield m["content"]


def build_backbone(cfg, fmt: ResponseFormat, train: list[dict]):
    if cfg.model.source == "scratch":
        tokenizer = build_tokenizer(tokenizer_corpus(train), fmt.tokens, cfg.model.vocab_size, cfg.model.max_length)
        return build_tiny_model(tokenizer, cfg.model, cfg.seed), tokenizer
    return load_hub_backbone(cfg.model, fmt.tokens)


def split_stats(dialogues: list[dict], examples: list[dict]) -> dict:
    def words(text: str) -> int:
        return len(text.split())

    return {
        "dialogues": len(dialogues),
        "examples": len(examples),
        "personas": len({d["person"] for d in dialogues}),
        "avg_turns": mean(len(d["messages"]) - 1 for d in dialogues) if dialogues else 0.0,
        "avg_words_query": mean(words(ex["prompt"][-1]["content"]) for ex in examples) if examples else 0.0,
        "avg_words_response": mean(words(ex["reference"]) for ex in examples) if examples else 0.0,
    }


def run(cfg) -> dict[str, float]:
    fmt = ResponseFormat.from_config(cfg.format)
    report = validate(read_records(cfg, fmt), cfg.data)
    write_jsonl(cfg.paths.rejects, report.reject_rows())  # first, so a stopped run still says why
    check_reject_rate(report, cfg)
    dialogues = report.records
    train_d, test_d = split_records(report, cfg)

    def to_examples(dialogues: list[dict]) -> list[dict]:
        return [ex for d in dialogues for ex in dialogue_to_examples(d, fmt, cfg.data.history, cfg.data.max_history_turns)]

    train, test = to_examples(train_d), to_examples(test_d)

    model, tokenizer = build_backbone(cfg, fmt, train)
    lengths = [len(chat_ids(tokenizer, ex["prompt"] + ex["completion"])) for ex in train]
    too_long = sum(n > cfg.model.max_length for n in lengths)
    if too_long:
        log.warning("%d of %d train examples exceed model.max_length=%d tokens and will be truncated",
                    too_long, len(lengths), cfg.model.max_length)

    write_jsonl(cfg.paths.corpus, dialogues)
    out = Path(cfg.paths.prepared)
    write_jsonl(out / "train.jsonl", train)
    write_jsonl(out / "test.jsonl", test)
    stats = {
        "train": split_stats(train_d, train),
        "test": split_stats(test_d, test),
        "emotions": dict(Counter(d["emotion"] for d in dialogues).most_common()),
        "cues": dict(Counter(d.get("cue") for d in dialogues).most_common()),
        "tokens_per_example": {"mean": mean(lengths), "max": max(lengths), "over_max_length": too_long},
        "validation": {"records": report.total, "kept": len(report.records), "rejects": report.counts(),
                       "exact_duplicate_groups": report.exact_groups, "near_duplicate_pairs": report.near_pair_count,
                       "near_duplicate_cross_split": report.near_cross_split, "near_pairs": report.near_pairs},
    }
    write_json(out / "stats.json", stats)
    save_checkpoint(model, tokenizer, cfg.paths.base_model)
    n_params = count_parameters(model)
    log.info("backbone %s: %d parameters, vocab %d", cfg.model.name, n_params, len(tokenizer))
    return {
        "data/train_dialogues": len(train_d), "data/test_dialogues": len(test_d),
        "data/train_examples": len(train), "data/test_examples": len(test),
        "data/train_personas": stats["train"]["personas"], "data/test_personas": stats["test"]["personas"],
        "data/mean_tokens": stats["tokens_per_example"]["mean"],
        "model/parameters": n_params, "model/vocab_size": len(tokenizer),
        **validation_metrics(report),
    }


main = stage_main("prepare", run, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
