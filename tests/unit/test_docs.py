"""The README and docs/ hold together: every relative link resolves (file and, where given, heading
anchor), every table has the same number of cells in each row, and the README stays short."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")
SEPARATOR = re.compile(r"\|?(\s*:?-+:?\s*\|)*\s*:?-+:?\s*\|?")


def prose_lines(path: Path) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def anchors(path: Path) -> set[str]:
    """GitHub's heading slugs: lower case, punctuation but '-' and '_' dropped, spaces to '-'."""
    slugs: set[str] = set()
    for line in prose_lines(path):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            text = re.sub(r"[^\w\- ]", "", m.group(1).lower())
            slugs.add(text.replace(" ", "-"))
    return slugs


def relative_links(path: Path) -> list[str]:
    return [t for line in prose_lines(path) for t in LINK.findall(line)
            if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]  # http:, https:, mailto: ...


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page):
    broken = []
    for target in relative_links(page):
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    assert not broken, broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_tables_are_rectangular(page):
    def cells(row: str) -> int:
        return len(re.split(r"(?<!\\)\|", row.strip().strip("|")))

    bad, table = [], []
    for n, line in enumerate([*prose_lines(page), ""], 1):
        if line.lstrip().startswith("|"):
            table.append((n, line))
            continue
        if table:
            width = cells(table[0][1])
            if len(table) < 2 or not SEPARATOR.fullmatch(table[1][1].strip()):
                bad.append(f"line {table[0][0]}: table without a separator row")
            bad += [f"line {i}: {cells(row)} cells, header has {width}"
                    for i, row in table if cells(row) != width]
            table = []
    assert not bad, bad


def test_readme_stays_short():
    assert len((ROOT / "README.md").read_bytes()) <= 12_500, "reference material belongs in docs/"
