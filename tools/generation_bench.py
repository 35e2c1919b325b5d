"""Throughput of evaluation generation: batched vs one-at-a-time greedy decoding, same model, same
prompts, same settings. Prints generated tokens per second of each, the speed-up, and whether the
token ids of every completion are identical (they must be: greedy decoding with left padding and the
attention mask is exact). Exits 1 if any output differs.

    python -m tools.generation_bench                    # models/sft, 64 test prompts
    python -m tools.generation_bench --checkpoint models/base --n 32 --batch-size 16
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from stages.core.config import load_config
from stages.core.devices import to_generation_device
from stages.core.generation import generate_ids
from stages.core.io import read_jsonl
from stages.core.modeling import load_checkpoint, set_threads


def timed(model, tokenizer, prompts, batch_size: int, max_new_tokens: int) -> tuple[list[list[int]], float]:
    start = time.perf_counter()
    ids = generate_ids(model, tokenizer, prompts, batch_size=batch_size, max_new_tokens=max_new_tokens,
                       desc=f"batch size {batch_size}")
    return ids, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.generation_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="composed config: paths, dtype, decoding")
    parser.add_argument("--checkpoint", help="HF checkpoint directory (default: paths.sft_model)")
    parser.add_argument("--n", type=int, default=64, help="test prompts (default 64)")
    parser.add_argument("--batch-size", type=int, help="batched run's batch size (default: evaluate.batch_size)")
    parser.add_argument("--max-new-tokens", type=int, help="default: evaluate.max_new_tokens")
    args = parser.parse_args(argv)
    cfg = load_config(args.params)
    set_threads()
    checkpoint = args.checkpoint or cfg.paths.sft_model
    batch_size = args.batch_size or cfg.evaluate.batch_size
    max_new = args.max_new_tokens or cfg.evaluate.max_new_tokens
    prompts = [ex["prompt"] for ex in read_jsonl(Path(cfg.paths.partitioned) / "test.jsonl")[:args.n]]
    model, tokenizer = load_checkpoint(checkpoint, cfg.model.dtype)
    model = to_generation_device(model, f"bench {checkpoint}")
    generate_ids(model, tokenizer, prompts[:2], batch_size=2, max_new_tokens=4, progress=False)  # warm-up

    single, t_single = timed(model, tokenizer, prompts, 1, max_new)
    batched, t_batched = timed(model, tokenizer, prompts, batch_size, max_new)
    tokens = sum(map(len, single))
    differ = [i for i, (a, b) in enumerate(zip(single, batched, strict=True)) if a != b]
    rate_single, rate_batched = tokens / t_single, sum(map(len, batched)) / t_batched
    print(f"checkpoint {checkpoint} ({cfg.model.dtype}, {model.device}), {len(prompts)} prompts, greedy, "
          f"max_new_tokens={max_new}, {tokens} tokens generated")
    print(f"one at a time : {t_single:7.2f} s  {rate_single:8.1f} tokens/s")
    print(f"batch size {batch_size:<3}: {t_batched:7.2f} s  {rate_batched:8.1f} tokens/s")
    print(f"speed-up      : {rate_batched / rate_single:.2f}x")
    print(f"identical     : {len(prompts) - len(differ)}/{len(prompts)} completions"
          + (f"; differ at prompts {differ[:10]}" if differ else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
