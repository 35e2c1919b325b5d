"""The paper's model-in-the-loop construction of KardiaBench [paper §2], resumable and deterministic.

Three roles: U simulates the user from profile, situation, emotion and history; A writes the four-span
turn; R judges it FAIL / PASS / SOLVED. On FAIL, A revises (at most ``max_revisions`` times; the last
attempt is kept if all fail) [ours: the paper does not say]; SOLVED ends the dialogue; at most
``max_exchanges`` exchanges. Every decision of R is recorded as the dialogue's trace, which the
trace-rule partition reads. Dialogues that fail a filter (broken structure, persona drift, abrupt
emotion jump) are dropped and counted by reason.

Dialogue i depends only on (seed, i): its scenario and every random choice come from an RNG seeded
with both, and requests to an LLM carry a seed derived from (seed, i, role, turn, attempt). Dialogues
are appended to the output one by one and fsync'd; a restarted run skips what is already written,
so an interrupted run plus a restart yields the same dialogues as one uninterrupted run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..chat import ChatClient, ChatError, ChatRefused, ClientSettings, Malformed
from ..curriculum import DECISIONS
from ..format import ResponseFormat
from ..io import read_jsonl, write_json
from ..labels import EMOTIONS, normalize_emotion
from . import synthetic_corpus
from .examples import SOURCE_FORMAT, context_text
from .validation import RecordError, check_record, persona_id

log = logging.getLogger("kardia.synthesize")

OUTPUT, DROPPED, STATS, MANIFEST = "dialogues.jsonl", "dropped.log", "stats.json", "manifest.json"
FILTERS = ("structure", "persona_drift", "emotion_jump")
ROLES = ("user", "assistant", "reviewer")
_MBTI = re.compile(r"\b[EI][NS][FT][JP]\b")
_DECISION = re.compile(r"\b(" + "|".join(DECISIONS) + r")\b")


@dataclass
class Scenario:
    index: int
    person: str
    mbti: str
    emotion: str
    situation: str
    anon_username: str
    persona_id: str
    cue: str | None = None
    script: dict | None = field(default=None, repr=False)  # the embedded backend's scripted dialogue


def dialogue_id(index: int) -> str:
    return f"synth-{index:06d}"


def dialogue_rng(seed: int, index: int, *parts) -> random.Random:
    """An RNG for one dialogue (and optionally one role/turn/attempt): a pure function of its arguments."""
    return random.Random(":".join(map(str, (seed, index, *parts))))


def request_seed(seed: int, index: int, *parts) -> int:
    return int(hashlib.sha256(":".join(map(str, (seed, index, *parts))).encode()).hexdigest()[:8], 16)


class ScenarioSource:
    """Scenario i: a seeds-file row (round robin) or the embedded persona pool and situation tables."""

    def __init__(self, cfg, fmt: ResponseFormat):
        syn = cfg.synthesize
        self.seed, self.fmt, self.max_exchanges = cfg.seed, fmt, syn.max_exchanges
        self.rows = read_jsonl(syn.seeds_path) if syn.seeds_path else None
        for k, row in enumerate(self.rows or [], 1):
            missing = [key for key in ("person", "situation", "emotion") if not isinstance(row.get(key), str)]
            if missing:
                raise ValueError(f"{syn.seeds_path}:{k}: scenario seed lacks string field(s) {missing}")
        self.personas = synthetic_corpus.make_personas(random.Random(cfg.seed), syn.n_personas)

    def __call__(self, index: int) -> Scenario:
        if self.rows:
            row = self.rows[index % len(self.rows)]
            person = row["person"]
            return Scenario(index, person, row.get("mbti") or "", normalize_emotion(row["emotion"]), row["situation"],
                            row.get("anon_username") or f"user_{request_seed(self.seed, index):08x}",
                            persona_id(person))
        rng = dialogue_rng(self.seed, index)
        persona = self.personas[rng.randrange(len(self.personas))]
        script = synthetic_corpus.scripted_dialogue(rng, index, persona, self.fmt, self.max_exchanges)
        return Scenario(index, script["person"], script["mbti"], script["emotion"], script["situation"],
                        script["anon_username"], script["persona_id"], script["cue"], script)


class EmbeddedRoles:
    """Offline U, A and R played from synthetic_corpus.py's scripted dialogue of the scenario.

    U and A return the script's turns (a template generator has nothing better to revise to, so a
    revision repeats the turn); R draws FAIL with the corpus's per-cue rate, else SOLVED on the
    script's last exchange and PASS before it. Deterministic in (seed, dialogue, turn, attempt).
    """

    def __init__(self, seed: int):
        self.seed = seed

    def _turns(self, s: Scenario, role: str) -> list[str]:
        return [m["content"] for m in s.script["messages"] if m["role"] == role]

    async def user(self, s: Scenario, history: list[dict], turn: int) -> str | None:
        users = self._turns(s, "user")
        return users[turn] if turn < len(users) else None  # the simulated user has said all they had

    async def assistant(self, s: Scenario, history: list[dict], turn: int, attempt: int) -> str:
        return self._turns(s, "assistant")[turn]

    async def reviewer(self, s: Scenario, history: list[dict], candidate: str, turn: int, attempt: int) -> str:
        rng = dialogue_rng(self.seed, s.index, "R", turn, attempt)
        if rng.random() < synthetic_corpus.reviewer_fail_rate(s.cue):
            return "FAIL"
        return "SOLVED" if turn + 1 >= len(self._turns(s, "assistant")) else "PASS"


def load_prompts(prompts_dir: Path, version: str) -> dict[str, str]:
    folder = prompts_dir / "synthesize" / version
    missing = [r for r in ROLES if not (folder / f"{r}.txt").exists()]
    if missing:
        raise FileNotFoundError(f"synthesize.prompts={version!r}: {folder} lacks {[m + '.txt' for m in missing]}")
    return {r: (folder / f"{r}.txt").read_text(encoding="utf-8") for r in ROLES}


def parse_decision(text: str) -> str:
    m = _DECISION.search(text.upper())
    if not m:
        raise Malformed(f"reviewer answer {text[:80]!r} has none of {list(DECISIONS)}")
    return m[1]


def parse_user(text: str) -> str:
    text = text.strip()
    if not text:
        raise Malformed("empty user turn")
    return text


def parse_assistant(text: str) -> str:
    parsed = SOURCE_FORMAT.parse(text)
    if not parsed.ok:
        raise Malformed(f"assistant turn does not parse into four spans ({parsed.error})")
    return SOURCE_FORMAT.normalize(text).strip()


def client_settings(endpoint) -> ClientSettings:
    """The chat client for ``synthesize.openai``: an unset API key is fine (a local ``vllm serve``)."""
    return ClientSettings.from_endpoint(endpoint, "synthesize.openai", key_optional=True)


def client_stats(s) -> dict:
    """What stats.json records of the client: attempts, retries and failed attempts by kind."""
    errors = sum(n for kind, n in s.attempt_errors.items() if kind not in ("timeout", "malformed"))
    return {"requests": s.requests, "retries": s.retries, "malformed": s.attempt_errors["malformed"],
            "errors": errors, "timeouts": s.attempt_errors["timeout"]}


class LLMRoles:
    """U, A and R as requests to an OpenAI-compatible chat endpoint, from versioned prompt templates."""

    def __init__(self, client: ChatClient, prompts: dict[str, str], seed: int):
        self.client, self.prompts, self.seed = client, prompts, seed
        self.format_spec = SOURCE_FORMAT.render({s: "..." for s in SOURCE_FORMAT.spans})

    def _fill(self, role: str, s: Scenario, **extra) -> str:
        return self.prompts[role].format(person=s.person, situation=s.situation, emotion=s.emotion, **extra)

    async def user(self, s: Scenario, history: list[dict], turn: int) -> str | None:
        hint = "your first message: tell the assistant what happened" if turn == 0 else "a follow-up"
        system = self._fill("user", s, transcript=context_text(history) or "(nothing yet)", turn_hint=hint)
        return await self.client.complete([{"role": "system", "content": system},
                                           {"role": "user", "content": "Write your next message."}],
                                          seed=request_seed(self.seed, s.index, "U", turn), parse=parse_user)

    async def assistant(self, s: Scenario, history: list[dict], turn: int, attempt: int) -> str:
        note = ("\nThe reviewer rejected your previous attempt at this turn (FAIL). Write a better one."
                if attempt else "")
        system = self._fill("assistant", s, format_spec=self.format_spec, labels=", ".join(EMOTIONS),
                            revision_note=note)
        seed = request_seed(self.seed, s.index, "A", turn, attempt)
        # A turn still malformed after the retries is kept as written: the structure filter drops the
        # dialogue and counts it, where failing would retry the same answer forever on every resume.
        return await self.client.complete([{"role": "system", "content": system}, *history], seed=seed,
                                          parse=parse_assistant, keep_malformed=True)

    async def reviewer(self, s: Scenario, history: list[dict], candidate: str, turn: int, attempt: int) -> str:
        system = self._fill("reviewer", s, transcript=context_text(history), candidate=candidate)
        return await self.client.complete([{"role": "system", "content": system},
                                           {"role": "user", "content": "Your verdict:"}],
                                          seed=request_seed(self.seed, s.index, "R", turn, attempt),
                                          parse=parse_decision)


async def build_dialogue(s: Scenario, roles, fmt: ResponseFormat, max_exchanges: int, max_revisions: int) -> dict:
    """Run the U -> A -> R loop for one scenario; returns the record (KardiaBench form + trace)."""
    history: list[dict] = []
    trace: list[str] = []
    revisions = 0
    for turn in range(max_exchanges):
        user = await roles.user(s, history, turn)
        if user is None:
            break
        history.append({"role": "user", "content": user})
        for attempt in range(max_revisions + 1):
            candidate = await roles.assistant(s, history, turn, attempt)
            decision = await roles.reviewer(s, history, candidate, turn, attempt)
            trace.append(decision)
            if decision != "FAIL":
                break
            revisions += attempt < max_revisions
        history.append({"role": "assistant", "content": candidate})
        if decision == "SOLVED":
            break
    return {
        "dialogue_id": dialogue_id(s.index), "persona_id": s.persona_id, "anon_username": s.anon_username,
        "person": s.person, "mbti": s.mbti, "emotion": s.emotion, "situation": s.situation, "cue": s.cue,
        "messages": [{"role": "system", "content": fmt.system_prompt(s.person)}, *history], "trace": trace,
        "revisions": revisions,
    }


def filter_reason(record: dict, filters, limits) -> tuple[str, str] | None:
    """(filter, detail) for the first filter the dialogue fails, None if it passes them all."""
    if filters.structure:
        try:
            check_record(record, limits, record["dialogue_id"])
        except RecordError as e:
            return "structure", str(e)
    assistant = [SOURCE_FORMAT.parse(m["content"]) for m in record["messages"] if m["role"] == "assistant"]
    spans = [p.spans for p in assistant if p.ok]
    if filters.persona_drift and record["mbti"]:
        for k, sp in enumerate(spans):
            others = {t for t in _MBTI.findall(sp["understanding"] + " " + sp["reasoning"]) if t != record["mbti"]}
            if others:
                return "persona_drift", f"assistant turn {k} calls a {record['mbti']} user {sorted(others)}"
    if filters.emotion_jump:
        labels = [normalize_emotion(sp["emotion"]) for sp in spans]
        for k in range(1, len(labels)):
            if not synthetic_corpus.same_cluster(labels[k - 1], labels[k]):
                return "emotion_jump", f"assistant turns {k - 1}->{k}: {labels[k - 1]} -> {labels[k]}"
    return None


# ---- resumable output ----------------------------------------------------------------------------

def repair_tail(path: Path) -> None:
    """Cut a partial last line (a crash mid-write) so appending continues on a clean line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        log.warning("%s: dropping a partial last line (%d bytes) left by an interrupted run", path, len(data) - cut)
        with path.open("r+b") as f:
            f.truncate(cut)


class AppendLog:
    def __init__(self, path: Path):
        repair_tail(path)
        self.path = path
        self.file = path.open("a", encoding="utf-8")

    def append(self, obj: dict) -> None:
        self.file.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())  # a finished dialogue survives a crash right after

    def close(self) -> None:
        self.file.close()


def manifest(cfg) -> dict:
    """Settings that decide dialogue content; a resume with different ones would mix two corpora."""
    syn = cfg.synthesize
    out = {"seed": cfg.seed, "backend": syn.backend, "prompts": syn.prompts, "n_personas": syn.n_personas,
           "seeds_path": syn.seeds_path, "max_exchanges": syn.max_exchanges, "max_revisions": syn.max_revisions,
           "filters": dict(syn.filters), "system_prompt": cfg.format.system_prompt}
    if syn.backend == "openai":
        # model and what each request carries: {temperature, max_tokens} unless newer fields are set
        out |= {"model": syn.openai.model, **client_settings(syn.openai).sampling}
    return out


def existing_ids(out: Path) -> set[str]:
    ids = set()
    for name in (OUTPUT, DROPPED):
        path = out / name
        if path.exists():
            repair_tail(path)
            ids |= {r["dialogue_id"] for r in read_jsonl(path)}
    return ids


def corpus_stats(out: Path, run: dict) -> dict:
    kept = read_jsonl(out / OUTPUT) if (out / OUTPUT).exists() else []
    dropped = read_jsonl(out / DROPPED) if (out / DROPPED).exists() else []
    by_filter = Counter(d["reason"] for d in dropped)
    decisions = Counter(d for r in kept for d in r["trace"])
    return {
        "kept": len(kept), "dropped": len(dropped),
        "dropped_by_filter": {f: by_filter.get(f, 0) for f in FILTERS},
        "decisions": {d: decisions.get(d, 0) for d in DECISIONS},
        "revisions": sum(r.get("revisions", 0) for r in kept),
        "avg_exchanges": sum((len(r["messages"]) - 1) // 2 for r in kept) / len(kept) if kept else 0.0,
        "this_run": run,
    }


async def synthesize(cfg, out: Path, progress=None) -> dict:
    """Build dialogues 0..n-1 that ``out`` does not hold yet; returns the corpus stats."""
    syn = cfg.synthesize
    wanted = manifest(cfg)
    if (out / MANIFEST).exists():
        found = json.loads((out / MANIFEST).read_text())
        if found != wanted:
            diff = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))
            raise ValueError(f"{out} holds dialogues made with other settings ({diff}); resume with the same "
                             "settings, or choose another --output")
    client = ChatClient(client_settings(syn.openai)) if syn.backend == "openai" else None
    if client is not None:
        # One short call before anything is written or built: a wrong URL, model or key stops the run in
        # seconds (EndpointUnavailable), not as one failed dialogue after another. Awaited: this coroutine
        # already runs in the caller's event loop, where the synchronous preflight (asyncio.run) cannot.
        await client.apreflight()
    out.mkdir(parents=True, exist_ok=True)
    if not (out / MANIFEST).exists():
        write_json(out / MANIFEST, wanted)
    fmt = ResponseFormat("four_span", cfg.format.system_prompt)
    scenarios = ScenarioSource(cfg, fmt)
    done = existing_ids(out)
    todo = [i for i in range(syn.n_dialogues) if dialogue_id(i) not in done]
    log.info("synthesize: %d of %d dialogues already in %s; %d to build (%s backend)",
             syn.n_dialogues - len(todo), syn.n_dialogues, out, len(todo), syn.backend)
    kept_log, dropped_log = AppendLog(out / OUTPUT), AppendLog(out / DROPPED)
    if progress is not None:
        progress.update(syn.n_dialogues - len(todo))
    run = {"built": 0, "kept": 0, "dropped": 0, "failed": 0, "failures": []}

    async def one(i: int, roles, sem: asyncio.Semaphore):
        async with sem:
            try:
                return i, await build_dialogue(scenarios(i), roles, fmt, syn.max_exchanges, syn.max_revisions), None
            except ChatRefused:
                raise  # a wrong key / model / URL: stop the run instead of failing every dialogue
            except ChatError as e:
                return i, None, str(e)

    async def drive(roles, concurrency: int):
        sem = asyncio.Semaphore(concurrency)
        tasks = [asyncio.create_task(one(i, roles, sem)) for i in todo]
        try:
            for fut in asyncio.as_completed(tasks):
                i, record, error = await fut
                if error is not None:  # not recorded: the next run retries it
                    run["failed"] += 1
                    run["failures"].append({"dialogue_id": dialogue_id(i), "error": error})
                    log.warning("dialogue %s failed: %s", dialogue_id(i), error)
                else:
                    run["built"] += 1
                    reason = filter_reason(record, syn.filters, cfg.data.limits)
                    if reason:
                        run["dropped"] += 1
                        dropped_log.append({"dialogue_id": record["dialogue_id"], "reason": reason[0],
                                            "detail": reason[1]})
                    else:
                        run["kept"] += 1
                        kept_log.append(record)
                if progress is not None:
                    progress.update(1)
        finally:
            for t in tasks:
                t.cancel()

    try:
        if syn.backend == "openai":
            async with client:
                await drive(LLMRoles(client, load_prompts(Path(cfg.paths.prompts), syn.prompts), cfg.seed),
                            syn.openai.concurrency)
                run["client"] = client_stats(client.stats)
        else:
            await drive(EmbeddedRoles(cfg.seed), 1)
    finally:
        kept_log.close()
        dropped_log.close()
    stats = corpus_stats(out, run)
    write_json(out / STATS, stats)
    return stats
