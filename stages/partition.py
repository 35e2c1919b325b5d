"""partition: split the training examples into easy (-> sft) and hard (-> grpo) by dialogue.

The test examples get the same label, so evaluate can report the hard subset separately.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from stages.core.curriculum import difficulty
from stages.core.io import read_jsonl, write_jsonl
from stages.core.stage import stage_main


def label(examples: list[dict], cfg) -> list[dict]:
    p = cfg.partition
    return [{**ex, "difficulty": difficulty(ex["trace"], p.max_fail_rate, p.min_solved_rate)} for ex in examples]


def run(cfg) -> dict[str, float]:
    src, out = Path(cfg.paths.prepared), Path(cfg.paths.partitioned)
    train, test = label(read_jsonl(src / "train.jsonl"), cfg), label(read_jsonl(src / "test.jsonl"), cfg)
    easy = [ex for ex in train if ex["difficulty"] == "easy"]
    hard = [ex for ex in train if ex["difficulty"] == "hard"]
    if not easy or not hard:
        raise RuntimeError(f"partition left {len(easy)} easy and {len(hard)} hard examples: "
                           "adjust partition.max_fail_rate / partition.min_solved_rate")
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
        "partition/test_hard_examples": test_hard, "partition/test_easy_examples": len(test) - test_hard,
    }


main = stage_main("partition", run, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
