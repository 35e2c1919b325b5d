"""The corpus prepare starts from: read the configured source, gate on validation, split train/test.

The source is the embedded synthetic corpus (data.source=synthetic) or KardiaBench (hub or local
files, stages/core/data/kardiabench.py); every record goes through stages/core/data/validation.py.
"""

from __future__ import annotations

import logging

from ..errors import KardiaError
from ..format import ResponseFormat
from .examples import split_by_persona
from .kardiabench import read_kardiabench
from .synthetic_corpus import generate_corpus
from .validation import Raw, Report

log = logging.getLogger("kardia.prepare")


class DataQualityError(KardiaError, RuntimeError):
    """Too many records failed validation (above data.max_reject_rate), or none is left."""


def _synthetic(cfg, fmt: ResponseFormat) -> list[Raw]:
    corpus = generate_corpus(cfg.data.n_dialogues, cfg.data.n_personas, cfg.seed, fmt, cfg.data.max_exchanges,
                             cfg.data.min_exchanges)
    return [Raw("<synthetic>", i, None, d) for i, d in enumerate(corpus, 1)]


def _kardiabench(cfg, fmt: ResponseFormat) -> list[Raw]:
    return read_kardiabench(cfg.data)


# The registry, the one list of corpus sources: ``data.source`` (config validates against these keys)
# -> reader(cfg, fmt) of its raw records, which validation then checks like any other source's.
SOURCES = {"synthetic": _synthetic, "kardiabench": _kardiabench}


def read_records(cfg, fmt: ResponseFormat) -> list[Raw]:
    return SOURCES[cfg.data.source](cfg, fmt)


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
    if report.renamed_ids:
        log.warning("%d records share a dialogue_id with another record: each was made unique as "
                    "<id>@<split>-<line> (data/duplicate_ids in metrics/prepare.json)", report.renamed_ids)


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
    if not train or not test:
        personas = len({d["person"] for d in report.records})
        raise DataQualityError(
            f"a persona-disjoint split of {len(report.records)} records from {personas} persona(s) with "
            f"data.test_fraction={cfg.data.test_fraction} leaves {'train' if not train else 'test'} empty: "
            "the source needs at least two personas (or its own train and test files)")
    return train, test


def validation_metrics(report: Report) -> dict[str, float]:
    return {
        "data/records_read": report.total, "data/records_kept": len(report.records),
        "data/reject_rate": report.reject_rate,
        **{f"data/rejects/{reason}": n for reason, n in report.counts().items()},
        "data/exact_duplicate_groups": report.exact_groups,
        "data/duplicate_ids": report.renamed_ids,
        "data/near_duplicate_pairs": report.near_pair_count,
        "data/near_duplicate_cross_split": report.near_cross_split,
    }
