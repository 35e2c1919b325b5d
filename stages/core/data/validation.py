"""Record validation that loses nothing: every record is kept in canonical form or rejected with a reason.

A KardiaBench record [paper §2] is ``person``, ``emotion``, ``situation``, ``messages`` (optional
system prompt, then user / assistant turns alternating, ending on an assistant turn), plus optional
``mbti``, ``anon_username`` and our ``dialogue_id`` / ``persona_id`` / ``trace`` / ``cue``. Every
assistant turn must parse into the four spans (either tag form) and carry one of the 32 labels.

A rejected record is reported with its file, line, id and reason; exact duplicates (same persona and
turns after normalising case, punctuation and whitespace) and near duplicates (MinHash estimate of the
Jaccard similarity of word 5-shingles) are reported, and dropped or kept as ``data.dedup`` says.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from ..curriculum import DECISIONS
from ..labels import EMOTION_SET, normalize_emotion
from .examples import SOURCE_FORMAT

# Every reason a record can be rejected for, in the order the checks run.
REASONS = ("invalid_json", "not_an_object", "missing_field", "wrong_type", "bad_roles", "no_final_assistant",
           "too_long", "unparseable_turn", "unknown_emotion", "bad_trace", "exact_duplicate", "near_duplicate")
# Duplicates are a property of the corpus, not broken records: they do not count towards max_reject_rate.
DUPLICATE_REASONS = ("exact_duplicate", "near_duplicate")
REQUIRED = {"person": str, "emotion": str, "situation": str, "messages": list}
OPTIONAL = {"mbti": str, "anon_username": str, "dialogue_id": str, "persona_id": str, "cue": str, "trace": list}
ROLES = ("system", "user", "assistant")


class RecordError(ValueError):
    def __init__(self, reason: str, detail: str):
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Raw:
    """One record as read: where it came from, its split (if the source has splits), and its value.

    ``value`` is the parsed JSON object, or a RecordError when the line could not even be parsed.
    """

    file: str
    line: int
    split: str | None
    value: object


@dataclass
class Reject:
    file: str
    line: int
    record_id: str
    reason: str
    detail: str


@dataclass
class Report:
    records: list[dict] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    total: int = 0
    splits: list[str | None] = field(default_factory=list)  # parallel to records: the source's split
    near_pairs: list[dict] = field(default_factory=list)  # the first few, for the stats file
    near_pair_count: int = 0
    near_cross_split: int = 0  # near duplicates across train/test: leakage worth knowing about
    exact_groups: int = 0
    renamed_ids: int = 0  # records whose dialogue_id another record also had, made unique

    def counts(self) -> dict[str, int]:
        c = Counter(r.reason for r in self.rejects)
        return {reason: c.get(reason, 0) for reason in REASONS}

    @property
    def invalid(self) -> int:
        return sum(r.reason not in DUPLICATE_REASONS for r in self.rejects)

    @property
    def reject_rate(self) -> float:
        return self.invalid / self.total if self.total else 0.0

    def reject_rows(self) -> list[dict]:
        return [asdict(r) for r in self.rejects]


def persona_id(person: str) -> str:
    """A stable id for a profile text, for sources that do not give one."""
    return "p-" + hashlib.sha1(person.encode()).hexdigest()[:10]


def record_id(value: object, raw: Raw) -> str:
    if isinstance(value, dict):
        for key in ("dialogue_id", "anon_username"):
            if isinstance(value.get(key), str) and value[key]:
                return value[key]
    return f"{raw.file}:{raw.line}"


def check_record(value: object, limits, default_id: str) -> dict:
    """The record in canonical form (token-form spans, normalised labels), or RecordError."""
    if isinstance(value, RecordError):
        raise value
    if not isinstance(value, dict):
        raise RecordError("not_an_object", f"a record must be a JSON object, got {type(value).__name__}")
    for key in REQUIRED:
        if key not in value or value[key] is None:
            raise RecordError("missing_field", f"field '{key}' is missing")
    for key, typ in {**REQUIRED, **OPTIONAL}.items():
        if value.get(key) is not None and not isinstance(value[key], typ):
            raise RecordError("wrong_type", f"field '{key}' must be {typ.__name__}, got {type(value[key]).__name__}")
    if len(value["person"]) > limits.max_person_chars:
        raise RecordError("too_long", f"person has {len(value['person'])} chars > {limits.max_person_chars}")

    messages = value["messages"]
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise RecordError("wrong_type", f"messages[{i}] must be an object with string 'role' and 'content'")
        if m["role"] not in ROLES:
            raise RecordError("bad_roles", f"messages[{i}].role={m['role']!r} is not one of {list(ROLES)}")
    turns = messages[1:] if messages and messages[0]["role"] == "system" else messages
    for i, m in enumerate(turns):
        expected = "user" if i % 2 == 0 else "assistant"
        if m["role"] != expected:
            raise RecordError("bad_roles", f"turn {i} is {m['role']!r}, expected {expected!r} (user/assistant alternate)")
    if not turns or turns[-1]["role"] != "assistant":
        raise RecordError("no_final_assistant", f"{len(turns)} turns; a dialogue must end on an assistant turn")
    if len(turns) // 2 > limits.max_exchanges:
        raise RecordError("too_long", f"{len(turns) // 2} exchanges > {limits.max_exchanges}")
    for i, m in enumerate(turns):
        if len(m["content"]) > limits.max_turn_chars:
            raise RecordError("too_long", f"turn {i} has {len(m['content'])} chars > {limits.max_turn_chars}")

    canonical = []
    for i, m in enumerate(turns):
        if m["role"] == "user":
            if not m["content"].strip():
                raise RecordError("bad_roles", f"turn {i} (user) is empty")
            canonical.append({"role": "user", "content": m["content"]})
            continue
        parsed = SOURCE_FORMAT.parse(m["content"])
        if not parsed.ok:
            raise RecordError("unparseable_turn", f"turn {i} (assistant): {parsed.error}")
        label = normalize_emotion(parsed.spans["emotion"])
        if label not in EMOTION_SET:
            raise RecordError("unknown_emotion", f"turn {i} emotion span {parsed.spans['emotion']!r} is not one of the 32 labels")
        canonical.append({"role": "assistant", "content": SOURCE_FORMAT.render({**parsed.spans, "emotion": label})})
    emotion = normalize_emotion(value["emotion"])
    if emotion not in EMOTION_SET:
        raise RecordError("unknown_emotion", f"record emotion {value['emotion']!r} is not one of the 32 labels")
    trace = value.get("trace")
    if trace is not None and (not trace or any(d not in DECISIONS for d in trace)):
        raise RecordError("bad_trace", f"trace {trace!r} must be a non-empty list of {list(DECISIONS)}")

    system = [messages[0]] if messages[0]["role"] == "system" else []
    person = value["person"]
    return {
        "dialogue_id": value.get("dialogue_id") or default_id,
        "persona_id": value.get("persona_id") or persona_id(person),
        "anon_username": value.get("anon_username") or "",
        "person": person,
        "mbti": value.get("mbti") or "",
        "emotion": emotion,
        "situation": value["situation"],
        "cue": value.get("cue"),
        "messages": system + canonical,
        "trace": trace,
    }


# ---- duplicates ------------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^\w\s]+")
SHINGLE = 5
N_PERM = 64
BANDS = 16  # 16 bands x 4 rows: pairs with Jaccard >= ~0.6 collide in some band with high probability
_MERSENNE = np.uint64((1 << 61) - 1)


def normalized_text(record: dict) -> str:
    """Persona + turns, lower-cased, punctuation and whitespace squeezed; span tokens removed."""
    parts = [record["person"]] + [SOURCE_FORMAT.plain_text(m["content"]) if m["role"] == "assistant"
                                  else m["content"] for m in record["messages"] if m["role"] != "system"]
    return " ".join(_NON_WORD.sub(" ", " ".join(parts).lower()).split())


def minhash(text: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    words = text.split()
    shingles = {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    x = np.fromiter((zlib.crc32(s.encode()) for s in shingles), dtype=np.uint64)
    return ((np.outer(x, a) + b) % _MERSENNE).min(axis=0)


def find_duplicates(records: list[dict], near_threshold: float) -> tuple[dict[int, int], list[tuple[int, int, float]]]:
    """Exact duplicates (index -> index of its first copy) and near-duplicate pairs (i, j, estimated Jaccard)."""
    texts = [normalized_text(r) for r in records]
    first: dict[str, int] = {}
    exact: dict[int, int] = {}
    for i, t in enumerate(texts):
        key = hashlib.sha256(t.encode()).hexdigest()
        if key in first:
            exact[i] = first[key]
        else:
            first[key] = i
    rng = np.random.default_rng(0)  # fixed permutations: the report is a function of the data only
    a = rng.integers(1, int(_MERSENNE), N_PERM, dtype=np.uint64)
    b = rng.integers(0, int(_MERSENNE), N_PERM, dtype=np.uint64)
    unique = [i for i in range(len(records)) if i not in exact]
    sigs = {i: minhash(texts[i], a, b) for i in unique}
    rows = N_PERM // BANDS
    buckets: dict[tuple, list[int]] = {}
    for i in unique:
        for band in range(BANDS):
            buckets.setdefault((band, sigs[i][band * rows:(band + 1) * rows].tobytes()), []).append(i)
    pairs = set()
    for members in buckets.values():
        for k, i in enumerate(members):
            for j in members[k + 1:]:
                pairs.add((i, j))
    near = []
    for i, j in sorted(pairs):
        jaccard = float(np.mean(sigs[i] == sigs[j]))
        if jaccard >= near_threshold:
            near.append((i, j, jaccard))
    return exact, near


def validate(raws: list[Raw], data_cfg, max_pairs_reported: int = 100) -> Report:
    """Check every record, then find duplicates among the valid ones (first occurrence is kept)."""
    report = Report(total=len(raws))
    valid: list[tuple[Raw, dict]] = []
    for raw in raws:
        default_id = f"kb-{raw.split or 'all'}-{raw.line:06d}"
        try:
            valid.append((raw, check_record(raw.value, data_cfg.limits, default_id)))
        except RecordError as e:
            report.rejects.append(Reject(raw.file, raw.line, record_id(raw.value, raw), e.reason, e.detail))
    ids = Counter(r["dialogue_id"] for _, r in valid)
    if any(n > 1 for n in ids.values()):  # ids must be unique: examples and partitions are keyed by them
        for raw, r in valid:
            if ids[r["dialogue_id"]] > 1:
                r["dialogue_id"] = f"{r['dialogue_id']}@{raw.split or 'all'}-{raw.line:06d}"
                report.renamed_ids += 1

    exact, near = find_duplicates([r for _, r in valid], data_cfg.dedup.near_threshold)
    report.exact_groups = len(set(exact.values()))
    drop: dict[int, Reject] = {}
    for i, j in exact.items():
        raw, r = valid[i]
        if data_cfg.dedup.exact == "drop":
            first = valid[j]
            drop[i] = Reject(raw.file, raw.line, r["dialogue_id"], "exact_duplicate",
                             f"same as {first[1]['dialogue_id']} ({first[0].file}:{first[0].line})")
    for i, j, jac in near:
        (ri, a), (rj, b) = valid[i], valid[j]
        if len(report.near_pairs) < max_pairs_reported:
            report.near_pairs.append({"kept": a["dialogue_id"], "other": b["dialogue_id"], "jaccard": round(jac, 3),
                                      "cross_split": ri.split != rj.split})
        if data_cfg.dedup.near == "drop" and j not in drop and i not in drop:
            drop[j] = Reject(rj.file, rj.line, b["dialogue_id"], "near_duplicate",
                             f"estimated Jaccard {jac:.2f} with {a['dialogue_id']} ({ri.file}:{ri.line})")
    report.near_pair_count = len(near)
    report.near_cross_split = sum(valid[i][0].split != valid[j][0].split for i, j, _ in near)
    report.rejects.extend(drop[i] for i in sorted(drop))
    report.records = [r for k, (_, r) in enumerate(valid) if k not in drop]
    report.splits = [raw.split for k, (raw, _) in enumerate(valid) if k not in drop]
    return report
