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


def where_to_add_rows() -> list[list[str]]:
    """The backticked names of each row of the README's "Where to add X" table."""
    lines = prose_lines(ROOT / "README.md")
    start = lines.index("## Where to add X")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    rows = [line for line in lines[start:end] if line.startswith("|")][2:]   # past the header and separator
    return [re.findall(r"`([^`]+)`", row) for row in rows]


def test_where_to_add_rows_name_files_that_exist_and_code_that_is_in_them():
    """Each row's paths exist (a `<name>` placeholder: its folder), and each identifier it names
    (a registry, a function, a class, a config key) is written in one of the row's files."""
    assert len(where_to_add_rows()) >= 6
    problems = []
    for names in where_to_add_rows():
        files: list[Path] = []
        for name in names:
            if "<" in name and "/" in name:                      # conf/judge/<name>.yaml: the folder holds them
                folder = ROOT / name[:name.index("<")].rstrip("/")
                if not folder.is_dir():
                    problems.append(f"{name}: no folder {folder.relative_to(ROOT)}")
                files += sorted(folder.glob("*"))
            elif "/" in name or re.fullmatch(r"[\w.]+\.(py|yaml)", name):
                found = [ROOT / name] if (ROOT / name).exists() else sorted(
                    p for top in ("stages", "tests", "experiments") for p in (ROOT / top).rglob(name.rstrip("/")))
                if not found:
                    problems.append(f"{name}: no such file")
                files += [f for p in found for f in ([p] if p.is_file() else sorted(p.rglob("*.yaml")))]
        texts = "\n".join(f.read_text(encoding="utf-8") for f in files if f.is_file())
        for name in names:
            if re.fullmatch(r"[A-Za-z_]\w*", name) and not re.search(rf"\b{name}\b", texts):
                problems.append(f"{name}: in none of {[f.name for f in files]}")
    assert not problems, problems
