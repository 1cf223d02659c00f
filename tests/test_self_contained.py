"""The repository explains itself: no source, test, tool, benchmark, man page or document
cites a file outside it (a design note that is not in the tree, a sibling directory, a
machine's path). Design notes live in docs/ (docs/design.md)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("interpcli", "tests", "tools", "man", "bench", "examples", "docs", "scripts")
TOP_FILES = (
    "README.md",
    "BENCHMARKS.md",
    "RELIABILITY.md",
    "CONTRIBUTING.md",
    "CHANGELOG.md",
    "setup.py",
    "pyproject.toml",
)
TEXT_SUFFIXES = {".py", ".pyi", ".c", ".h", ".md", ".sh", ".1", ".toml", ".txt", ".supp", ""}
# what only a path outside the repository looks like
OUTSIDE = re.compile(
    r"\.\./shared|/work/|(?i:native-core-facts)|\bDESIGN\.md\b|"
    r"(?i:\bthe brief\b)"
)
MD_REF = re.compile(r"[\w./-]*\b[\w-]+\.md\b")


def _files():
    for name in SCANNED:
        for path in sorted((ROOT / name).rglob("*")):
            if path.is_file() and path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts:
                yield path
    for name in TOP_FILES:
        if (ROOT / name).is_file():
            yield ROOT / name


def test_nothing_cites_a_file_outside_the_repository():
    docs = {p.name for p in ROOT.rglob("*.md") if ".git" not in p.parts}
    here = Path(__file__).resolve()
    found = []
    for path in _files():
        if path == here:
            continue  # its patterns name what it looks for
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        rel = path.relative_to(ROOT)
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{rel}:{n}: {line.strip()}")
            for ref in MD_REF.findall(line):
                if ref.split("/")[-1] not in docs:
                    found.append(f"{rel}:{n}: cites {ref}, not in the repository")
    assert not found, "\n".join(found)
