"""The project speaks of itself only: no development history in the tracked files.

Code, comments, docs, tests and arm names say what the software is and why, never how it came
to be: no stop or pass numbers, no issue numbers, no "this session", no paths to result folders
that are not in the repository. A default is described by what it is and the evidence for it
(docs/evidence.md); what changed for users is in CHANGELOG.md, by version.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent

_ORDINALS = (
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    "thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth"
)

HISTORY_PATTERNS: dict[str, re.Pattern[str]] = {
    "a stop number": re.compile(r"(?<![A-Za-z])stops?[ _-]\d+", re.IGNORECASE),
    "a pass number": re.compile(
        rf"(?<![A-Za-z])pass(?:es)?[ _-]\d+\b|(?<![A-Za-z])(?:{_ORDINALS}|\d+(?:st|nd|rd|th))(?:[ _-]and[ _-]\w+)?[ _-]pass(?:es)?\b",
        re.IGNORECASE,
    ),
    "an issue number": re.compile(
        r"(?<![A-Za-z])issues?[ _-]?#?\d+|\b(?:PR|pull request|fixes|closes)\s*#\d+|\(#\d+\)", re.IGNORECASE
    ),
    "this session": re.compile(r"\bthis session\b", re.IGNORECASE),
    "a result folder outside the repository": re.compile(r"(?<![\w./-])out/(?:issue|rounds)"),
    "an earlier default": re.compile(r"\b(?:previous|former|old) default\b", re.IGNORECASE),
}
"""What counts as history, by what it is."""

SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()


def history_hits(text: str) -> list[tuple[int, str, str]]:
    """``(line number, what, the line)`` for every history word in ``text``."""
    hits = []
    for number, line in enumerate(text.splitlines(), start=1):
        for what, pattern in HISTORY_PATTERNS.items():
            if pattern.search(line):
                hits.append((number, what, line.strip()))
    return hits


def tracked_text_files() -> list[Path]:
    """Every file git tracks in the working tree that reads as UTF-8 text (binaries skipped)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    files = []
    for name in listed.stdout.decode().split("\0"):
        path = ROOT / name
        if not name or name == SELF or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


@pytest.mark.parametrize(
    "planted",
    [
        "the default since stop 24",
        "(the default of stops 17-23)",
        "measured in the twelfth pass",
        "see the eighth and ninth passes",
        "fixed in issue #9",
        "issue 10, item 8",
        "as measured this session",
        "python benchmarks/paired.py out/issue9m/nginx-long",
        "the previous default schedule",
        "def test_keeps_the_schedule_of_stops_19_21():",
    ],
)
def test_the_scanner_flags_a_planted_history_word(planted: str) -> None:
    assert history_hits(f"a line before\n{planted}\na line after\n")[0][0] == 2


@pytest.mark.parametrize(
    "innocent",
    [
        "--pass-env NAME passes every variable starting with NAME",
        "the baseline is #0 [baseline] in the prompt's history",
        "color: #222222",
        "stopped at the end of the session",
        "reading takes two passes over the reply",
        "compare.py --out DIR, or --out out/compare",
    ],
)
def test_the_scanner_leaves_ordinary_words_alone(innocent: str) -> None:
    assert history_hits(innocent) == []


def test_no_tracked_file_speaks_of_the_projects_history() -> None:
    files = tracked_text_files()
    assert any(f.name == "README.md" for f in files), "git ls-files listed no README: is the root right?"
    found = [
        f"{path.relative_to(ROOT)}:{number}: {what}: {line[:120]}"
        for path in files
        for number, what, line in history_hits(path.read_text(encoding="utf-8"))
    ]
    assert not found, (
        "history words in tracked files (say what the software is, not how it came to be; "
        "what changed for users goes in CHANGELOG.md by version):\n" + "\n".join(found)
    )
