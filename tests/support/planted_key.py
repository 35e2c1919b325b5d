"""A planted API key and the grep for it, shared by the redaction tests (unit and pipeline)."""

from pathlib import Path

PLANTED = "sk-planted-5f1c0e9a7b3d4c2e8f6a"


def files_holding(root: Path, needle: str) -> list[str]:
    """Every file under ``root`` whose bytes contain ``needle`` (sqlite stores and binaries included)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes())
