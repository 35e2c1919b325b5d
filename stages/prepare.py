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

from stages.core.data.examples import dialogue_to_examples, split_by_persona
from stages.core.data.kardiabench import read_kardiabench
from stages.core.data.synthetic import generate_corpus
from stages.core.data.validation import Raw, Report, validate
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


class DataQualityError(RuntimeError):
    pass


def read_records(cfg, fmt: ResponseFormat) -> list[Raw]:
    if cfg.data.source == "synthetic":
        corpus = generate_corpus(cfg.data.n_dialogues, cfg.data.n_personas, cfg.seed, fmt, cfg.data.max_exchanges)
        return [Raw("<synthetic>", i, None, d) for i, d in enumerate(corpus, 1)]
    return read_kardiabench(cfg.data)


def check_reject_rate(report: Report, cfg) -> None:
    counts = ", ".join(f"{k}={v}" for k, v in report.counts().items() if v)
    log.info("validated %d records: %d kept, %d rejected (%s)", report.total, len(report.records),
             len(report.rejects), counts or "none")
    if report.reject_rate > cfg.data.max_reject_rate:
        raise DataQualityError(
            f"{report.invalid} of {report.total} records ({report.reject_rate:.1%}) failed validation, above "
            f"data.max_reject_rate={cfg.data.max_reject_rate:.1%} ({counts}); each one is listed with its file, "
            f"line and reason in {cfg.paths.rejects}")
    if not report.records:
        raise DataQualityError(f"no valid records to prepare; see {cfg.paths.rejects}")


def split_records(report: Report, cfg) -> tuple[list[dict], list[dict]]:
    """The source's own train/test split when it has both (KardiaBench's is profile-disjoint [paper]);
    otherwise a persona-disjoint split of everything."""
    if {"train", "test"} <= set(report.splits):
        train = [r for r, s in zip(report.records, report.splits) if s != "test"]
        test = [r for r, s in zip(report.records, report.splits) if s == "test"]
        overlap = {d["person"] for d in train} & {d["person"] for d in test}
        if overlap:
            log.warning("the source's test split shares %d personas with train", len(overlap))
        return train, test
    train, test = split_by_persona(report.records, cfg.data.test_fraction, cfg.seed)
    overlap = {d["person"] for d in train} & {d["person"] for d in test}
    assert not overlap, "persona-disjoint split leaked personas"
    return train, test


def validation_metrics(report: Report) -> dict[str, float]:
    return {
        "data/records_read": report.total, "data/records_kept": len(report.records),
        "data/reject_rate": report.reject_rate,
        **{f"data/rejects/{reason}": n for reason, n in report.counts().items()},
        "data/exact_duplicate_groups": report.exact_groups,
        "data/near_duplicate_pairs": report.near_pair_count,
        "data/near_duplicate_cross_split": report.near_cross_split,
    }


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
