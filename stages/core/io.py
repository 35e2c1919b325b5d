"""Atomic file output and JSONL helpers.

Every stage output is written to a temporary sibling and renamed into place, so an interrupted
stage never leaves a half-written file or directory that DVC would cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path, *, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    target = tmp if is_dir else tmp / path.name
    try:
        yield target
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_jsonl(path: str | Path, records: Iterable[dict]) -> int:
    n = 0
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n


class BadLine(ValueError):
    """One JSONL line that cannot be read: bytes that are not UTF-8, invalid JSON, or nesting too deep
    for the parser. ``msg`` says which, where in the line."""

    def __init__(self, msg: str):
        super().__init__(msg)
        self.msg = msg


def _parse_line(raw: bytes, lineno: int) -> object:
    if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark, as some editors write
        raw = raw[3:]
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return BadLine(f"not UTF-8 (byte 0x{raw[e.start]:02x} at byte {e.start + 1})")
    if not line.strip():
        return None
    try:
        return json.loads(line)
    except json.JSONDecodeError as e:
        return BadLine(f"not valid JSON ({e.msg} at column {e.colno})")
    except RecursionError:
        return BadLine("not valid JSON (nested too deep to parse)")


def iter_jsonl(path: str | Path):
    """(line number, value) per non-blank line. The value is a ``BadLine`` for a line that cannot be
    read, so one bad record never stops the file and the caller decides between failing and
    rejecting it; lines are decoded one by one for the same reason."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            value = _parse_line(raw, lineno)
            if value is not None:
                yield lineno, value


def read_jsonl(path: str | Path) -> list[dict]:
    """Read a JSONL file; a bad line raises with the file and line number."""
    out = []
    for lineno, value in iter_jsonl(path):
        if isinstance(value, BadLine):
            raise ValueError(f"{path}:{lineno}: {value.msg}")  # noqa: TRY004 - bad data, not a bad type
        out.append(value)
    return out


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


# Big checkpoints are fingerprinted by size and their first and last bytes, not read whole [ours]:
# hashing 15 GB of weights on every partition run would cost more than the cache saves.
FULL_HASH_LIMIT = 256 << 20
EDGE_BYTES = 16 << 20


def checkpoint_fingerprint(path: str | Path, config_key: str) -> str:
    """sha256 over a checkpoint's files (names and contents); a stand-in for DVC's own hash, for caches
    of what a checkpoint generated. ``config_key`` names the setting that pointed here, for the error."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{config_key}: {path} is not a model checkpoint (no config.json)")
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f.relative_to(path).as_posix().encode())
        _hash_file(h, f)
    return h.hexdigest()


def file_fingerprint(path: str | Path) -> str:
    """sha256 of one file (size + contents, the edges only beyond FULL_HASH_LIMIT)."""
    h = hashlib.sha256()
    _hash_file(h, Path(path))
    return h.hexdigest()


def _hash_file(h, f: Path) -> None:
    size = f.stat().st_size
    h.update(str(size).encode())
    with f.open("rb") as fh:
        if size <= FULL_HASH_LIMIT:
            h.update(fh.read())
        else:
            h.update(fh.read(EDGE_BYTES))
            fh.seek(size - EDGE_BYTES)
            h.update(fh.read(EDGE_BYTES))
