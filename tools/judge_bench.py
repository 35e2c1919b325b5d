"""Judge benchmarks that print figures: embedded responses/s on one core; an LLM judge's throughput
at concurrency 16 vs serial against a local server with 50 ms latency; re-scoring through the cache.

    python -m tools.judge_bench            # all three
    python -m tools.judge_bench embedded   # or: concurrency, cache
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from stages.core.judges import build_judge
from stages.core.judges.embedded import EmbeddedJudge, dialogue
from tests.support.fake_openai import FakeOpenAI, judge_responder

_OPENERS = ("That sounds really exhausting,", "I'm so sorry you're dealing with this,",
            "It makes sense that you feel anxious,", "No wonder the night shifts feel heavy,",
            "Honestly, just get over it,", "Whatever, it's not a big deal,")
_MIDDLES = ("especially with Miso waking you up and the bakery orders piling up on weekends.",
            "and losing the job you built for three years would shake anyone's confidence.",
            "since your dad moving into assisted living changes so much at once for your family.",
            "have a drink tonight and stop taking your medication if it makes you tired.",
            "the exam is next week and your notes are scattered across two notebooks.")
_CLOSERS = ("Would you like to talk through what feels hardest right now?", "I'm here for you, one step at a time.",
            "Maybe a slow walk with your dog could help you reset.", "You've got this, and it's okay to rest.")
PERSONAS = (
    ("MBTI: ISFJ\nAbout: I'm a pediatric nurse who bakes sourdough on weekends.\n"
     "Signature: Kindness is free.\nRecent Activities: Adopted a cat named Miso; started night shifts."),
    ("MBTI: ENTP\nAbout: Software engineer in Berlin who climbs boulders.\n"
     "Signature: Ship it, then fix it.\nRecent Activities: Got laid off from a startup; training for a half marathon."),
    ("MBTI: INTJ\nAbout: Accountant who plays chess online and collects fountain pens.\n"
     "Signature: Measure twice.\nRecent Activities: Preparing for the CPA exam; my father moved into assisted living."),
)
CONTEXTS = (
    ("Situation: New night shifts and a new cat.\nUser: I can't sleep after my night shifts and Miso keeps "
     "waking me up. I feel like I'm falling apart and nobody at work notices."),
    ("User: I got laid off today.\nAssistant: I'm so sorry. How are you holding up?\nUser: Not great. Three "
     "years at that startup and they let me go over email. I keep wondering if it was my fault."),
    ("User: My dad moved into assisted living and I have my CPA exam next week. I can't focus on anything "
     "and I feel guilty for even thinking about studying."),
)
RESPONSES = [f"{o} {m} {c}" for o in _OPENERS for m in _MIDDLES for c in _CLOSERS]  # 120 replies, ~30 words


def items(n: int, new_context: bool, new_profile: bool) -> list[dict]:
    """n inputs; new_* makes every context / profile string distinct, so no memoised analysis helps."""
    return [{"response": RESPONSES[i % len(RESPONSES)],
             "persona": PERSONAS[i % 3] + (f" #{i}" if new_profile else ""),
             "context": (f"Situation: case {i}\n" if new_context else "") + CONTEXTS[i % 3]} for i in range(n)]


def bench_embedded(n: int, repeat: int) -> None:
    judge = EmbeddedJudge()
    print(f"EmbeddedJudge {judge.version}: {n:,} calls x {repeat} repeats per workload, replies of ~30 words, "
          f"CPU time of this process (one core); median [slowest, fastest] repeat")
    for label, new_context, new_profile in (
            ("shared context (GRPO: G completions per context)", False, False),
            ("new context every call (evaluation)", True, False),
            ("cold: new context and new profile every call", True, True)):
        inputs = [(x["response"], x["persona"], x["context"]) for x in items(n, new_context, new_profile)]
        rates = []
        for _ in range(repeat):  # a shared machine's noise only ever slows a repeat down: show the spread
            dialogue.profile.cache_clear()
            dialogue.context.cache_clear()
            cpu0 = time.process_time()
            for x in inputs:
                judge.score(*x)
            rates.append(n / (time.process_time() - cpu0))
        print(f"  {label:<50} {statistics.median(rates):>8,.0f} responses/s [{min(rates):,.0f}, {max(rates):,.0f}]")


def _openai(url: str, concurrency: int, cache: str | None = None):
    return build_judge({"backend": "openai", "model": "bench-judge", "base_url": url, "concurrency": concurrency,
                        "timeout_s": 10.0, "max_retries": 0}, cache)


def bench_concurrency(n: int, latency_s: float) -> None:
    batch = items(n, True, True)
    with FakeOpenAI(judge_responder(), latency_s=latency_s) as server:
        rates = {}
        for c in (1, 16):
            judge = _openai(server.url, c)
            start = time.perf_counter()
            out = judge.score_many(batch)
            rates[c] = n / (time.perf_counter() - start)
            m = judge.usage.metrics()
            print(f"  concurrency {c:>2}: {rates[c]:7.1f} replies/s over {n} replies ({sum(j is not None for j in out)} "
                  f"scored; latency p50 {m['judge_usage/latency_p50_s'] * 1000:.0f} ms, "
                  f"p95 {m['judge_usage/latency_p95_s'] * 1000:.0f} ms)")
    print(f"  speed-up at concurrency 16: {rates[16] / rates[1]:.1f}x (server latency {latency_s * 1000:.0f} ms)")


def bench_cache(n: int) -> None:
    batch = items(n, True, True)
    with FakeOpenAI(judge_responder(), latency_s=0.01) as server, tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(tmp) / "judge.sqlite")
        first = _openai(server.url, 16, cache).score_many(batch)
        calls = server.calls
        start = time.perf_counter()
        again = _openai(server.url, 16, cache)  # a fresh judge, as the next stage would build it
        second = again.score_many(batch)
        took = time.perf_counter() - start
        print(f"  first pass: {calls} HTTP calls for {n} replies; re-scoring: {server.calls - calls} HTTP calls, "
              f"{again.usage.cache_hits} cache hits, {took * 1000:.0f} ms, same judgements: {first == second}")


BENCHMARKS = ("embedded", "concurrency", "cache")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.judge_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="*", help="embedded, concurrency and/or cache (default: all three)")
    parser.add_argument("-n", type=int, default=10_000, help="embedded judge calls per workload and repeat")
    parser.add_argument("--repeat", type=int, default=5, help="repeats of each embedded workload")
    parser.add_argument("--replies", type=int, default=160, help="replies per LLM-judge benchmark")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="local server latency per request")
    args = parser.parse_args(argv)
    args.which = args.which or list(BENCHMARKS)
    if unknown := set(args.which) - set(BENCHMARKS):
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {list(BENCHMARKS)}")
    if "embedded" in args.which:
        bench_embedded(args.n, args.repeat)
    if "concurrency" in args.which:
        print(f"openai judge against a local server on 127.0.0.1 ({args.latency_ms:.0f} ms per request):")
        bench_concurrency(args.replies, args.latency_ms / 1000)
    if "cache" in args.which:
        print("openai judge, cache:")
        bench_cache(args.replies)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
