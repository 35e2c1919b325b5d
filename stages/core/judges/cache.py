"""On-disk judge cache shared by grpo and evaluate: valid answers keyed by a hash of everything that
determines them (judge model, rubric version, template, sampling settings, the scored input).

SQLite in WAL mode: one file, safe for two stages (or DVC queue workers) writing at once, and a
lookup of thousands of keys is one query. Only answers that passed validation are stored, so a
malformed answer is asked again next time rather than replayed forever.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path


def cache_key(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class JudgeCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL)")

    def get_many(self, keys: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 500):  # SQLite's bound-parameter limit
            chunk = unique[i:i + 500]
            rows = self._db.execute(f"SELECT key, answer FROM answers WHERE key IN ({','.join('?' * len(chunk))})",
                                    chunk)
            out.update(rows.fetchall())
        return out

    def put_many(self, items: dict[str, str]) -> None:
        if items:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?)", items.items())

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        self._db.close()
