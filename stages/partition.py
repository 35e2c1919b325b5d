"""partition: split the training examples into easy (-> sft) and hard (-> grpo) by dialogue.

partition.method picks the rule: the paper's trace rule, or a no-curriculum ablation (random split,
everything to SFT, everything to GRPO). The test examples are always labelled by the trace rule,
so evaluate reports the same hard subset for every ablation.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from stages.core.curriculum import METHODS, difficulty
from stages.core.io import read_jsonl, write_jsonl
from stages.core.stage import stage_main


def label(examples: list[dict], cfg) -> list[dict]:
    p = cfg.partition
    return [{**ex, "difficulty": difficulty(ex["trace"], p.max_fail_rate, p.min_solved_rate)} for ex in examples]


def label_train(examples: list[dict], cfg) -> list[dict]:
    by_dialogue = METHODS[cfg.partition.method](examples, cfg.partition, cfg.seed)
    return [{**ex, "difficulty": by_dialogue[ex["dialogue_id"]]} for ex in examples]


def run(cfg) -> dict[str, float]:
    src, out = Path(cfg.paths.prepared), Path(cfg.paths.partitioned)
    train, test = label_train(read_jsonl(src / "train.jsonl"), cfg), label(read_jsonl(src / "test.jsonl"), cfg)
    easy = [ex for ex in train if ex["difficulty"] == "easy"]
    hard = [ex for ex in train if ex["difficulty"] == "hard"]
    # An empty side is fine only where its stage is disabled (all_sft / all_grpo ablations).
    if (not easy and cfg.sft.enabled) or (not hard and cfg.grpo.enabled):
        raise RuntimeError(f"partition ({cfg.partition.method}) left {len(easy)} easy and {len(hard)} hard "
                           "examples: adjust partition.max_fail_rate / partition.min_solved_rate")
    write_jsonl(out / "easy.jsonl", easy)
    write_jsonl(out / "hard.jsonl", hard)
    write_jsonl(out / "test.jsonl", test)
    dialogues = {d: Counter() for d in ("easy", "hard")}
    for ex in train:
        dialogues[ex["difficulty"]][ex["dialogue_id"]] += 1
    test_hard = sum(ex["difficulty"] == "hard" for ex in test)
    return {
        "partition/easy_examples": len(easy), "partition/hard_examples": len(hard),
        "partition/easy_dialogues": len(dialogues["easy"]), "partition/hard_dialogues": len(dialogues["hard"]),
        "partition/hard_fraction": len(hard) / len(train),
        "partition/hard_dialogue_fraction": len(dialogues["hard"]) / len({ex["dialogue_id"] for ex in train}),
        "partition/test_hard_examples": test_hard, "partition/test_easy_examples": len(test) - test_hard,
    }


main = stage_main("partition", run, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
