"""Reading KardiaBench [paper §2]: the gated hub dataset, or local train.jsonl / test.jsonl / parquet files.

Readers return every record as a ``Raw`` (file, line, split, value) without judging it: a line that is
not JSON becomes a RecordError value, so validation reports it with the rest instead of crashing.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from ..errors import KardiaError
from ..io import BadLine, iter_jsonl
from .validation import Raw, RecordError

SUFFIXES = (".jsonl", ".parquet")


class DataSourceError(KardiaError, RuntimeError):
    """The configured data cannot be read at all (missing path, gated dataset, offline)."""


def split_of(path: Path) -> str | None:
    """'train' / 'test' from a file name like train.jsonl or test-00000-of-00001.parquet; None otherwise."""
    name, parent = path.name.lower(), path.parent.name.lower()
    for split in ("train", "test"):
        if name.startswith(split) or parent == split:
            return split
    return None


def read_jsonl_raw(path: Path, split: str | None) -> list[Raw]:
    out = []
    for lineno, value in iter_jsonl(path):
        if isinstance(value, BadLine):
            value = RecordError("invalid_json", value.msg)
        out.append(Raw(str(path), lineno, split, value))
    return out


def read_parquet_raw(path: Path, split: str | None) -> list[Raw]:
    import pyarrow.parquet as pq

    rows = pq.read_table(path).to_pylist()
    return [Raw(str(path), i, split, row) for i, row in enumerate(rows, 1)]


def local_files(path: str) -> list[Path]:
    """A directory (every jsonl/parquet below it), a file, or a glob pattern; sorted, train before test."""
    p = Path(path)
    if any(c in path for c in "*?["):
        files = [Path(f) for f in glob.glob(path, recursive=True)]
    elif p.is_dir():
        files = [f for f in p.rglob("*") if f.suffix in SUFFIXES and f.is_file()
                 and not any(part.startswith(".") for part in f.relative_to(p).parts)]
    elif p.is_file():
        files = [p]
    else:
        raise DataSourceError(f"data.path={path!r} does not exist (expected a directory with train.jsonl / "
                              "test.jsonl or parquet files, a file, or a glob pattern)")
    files = [f for f in files if f.suffix in SUFFIXES]
    if not files:
        raise DataSourceError(f"data.path={path!r} holds no .jsonl / .parquet files")
    order = {"train": 0, None: 1, "test": 2}
    return sorted(files, key=lambda f: (order[split_of(f)], str(f)))


def read_local(path: str) -> list[Raw]:
    raws: list[Raw] = []
    for f in local_files(path):
        reader = read_parquet_raw if f.suffix == ".parquet" else read_jsonl_raw
        raws.extend(reader(f, split_of(f)))
    return raws


def hub_help(data_cfg, error: Exception) -> str:
    name, rev = data_cfg.hf_dataset, data_cfg.revision
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
    return (
        f"could not load {name}@{rev} from the Hugging Face hub ({type(error).__name__}: {error}).\n"
        f"KardiaBench is gated (CC BY-NC-ND 4.0). To use the hub: request access on "
        f"https://huggingface.co/datasets/{name}, create a read token, `export {data_cfg.token_env}=hf_...`"
        + (" and allow network access with `export HF_HUB_OFFLINE=0` (the stages default to offline)" if offline else "")
        + ".\nOr point at files you downloaded: `dvc exp run -S data=kardiabench -S data.path=/path/to/KardiaBench` "
        "(a directory with train.jsonl / test.jsonl or parquet files, a file, or a glob)."
    )


def read_hub(data_cfg) -> list[Raw]:
    try:
        from datasets import load_dataset

        dataset = load_dataset(data_cfg.hf_dataset, revision=data_cfg.revision,
                               token=os.environ.get(data_cfg.token_env) or None)
    except Exception as e:  # noqa: BLE001 - gated, missing, offline, bad revision: all need the same help
        raise DataSourceError(hub_help(data_cfg, e)) from None
    raws = []
    for split, rows in dataset.items():
        source = f"hf://datasets/{data_cfg.hf_dataset}@{data_cfg.revision}/{split}"
        raws.extend(Raw(source, i, split if split in ("train", "test") else None, row) for i, row in enumerate(rows, 1))
    return raws


def read_kardiabench(data_cfg) -> list[Raw]:
    """Local files when ``data.path`` is set, else the hub at the pinned revision."""
    return read_local(data_cfg.path) if data_cfg.path else read_hub(data_cfg)
