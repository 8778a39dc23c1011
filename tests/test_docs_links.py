"""Every relative link in the README, the changelog and docs/*.md leads somewhere.

A link names a file or folder of the repository, and its ``#anchor``, when it has one, a heading
of the Markdown file it points at, by GitHub's rule for heading ids. Links into the web
(``https://...``) are not followed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent

_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def documents() -> list[Path]:
    """The pages whose links are checked."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    changelog = ROOT / "CHANGELOG.md"
    return pages + ([changelog] if changelog.exists() else [])


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, with inline code spans blanked out."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, _CODE_SPAN.sub("", line)))
    return lines


def links(text: str) -> list[tuple[int, str]]:
    """``(line number, target)`` of every Markdown link and image in ``text``'s prose."""
    return [(number, m.group(1)) for number, line in _prose_lines(text) for m in _LINK.finditer(line)]


def slug(heading: str) -> str:
    """The id GitHub gives a heading: its text, lower case, without punctuation, spaces as ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = text.replace("`", "").replace("*", "")
    text = text.strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading id of a Markdown text (a repeated heading gets ``-1``, ``-2``, ...)."""
    seen: dict[str, int] = {}
    found = set()
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else _HEADING.match(line)
        if m is None:
            continue
        base = slug(m.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with each relative link of ``page`` (a file under ``root``): a missing file or
    an unknown anchor."""
    problems = []
    text = page.read_text(encoding="utf-8")
    for number, target in links(text):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        path_part, _, anchor = target.partition("#")
        where = f"{page.relative_to(root)}:{number}: {target}"
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            problems.append(f"{where}: no such file")
            continue
        if anchor and dest.suffix == ".md":
            if anchor not in anchors(dest.read_text(encoding="utf-8")):
                problems.append(f"{where}: no heading #{anchor} in {dest.relative_to(root)}")
    return problems


@pytest.mark.parametrize("page", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    assert not broken_links(page), "\n".join(broken_links(page))


def test_the_pages_have_links_to_check() -> None:
    assert len(links((ROOT / "README.md").read_text(encoding="utf-8"))) >= 10


def test_a_missing_file_and_an_unknown_anchor_are_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# Page\n\n## The bar after the start-up\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "[ok](docs/page.md#the-bar-after-the-start-up) [ok](#top) [web](https://example.org/x#y)\n"
        "[gone](docs/ablation.md) [bad anchor](docs/page.md#the-bar)\n"
        "```\n[in code](docs/nowhere.md)\n```\n`[in a span](docs/nowhere.md)`\n# Top\n"
    )
    problems = broken_links(readme, root=tmp_path)
    assert problems == [
        "README.md:2: docs/ablation.md: no such file",
        "README.md:2: docs/page.md#the-bar: no heading #the-bar in docs/page.md",
    ]


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Re-ranking the top trials before the confirmation (`--rerank`)", "re-ranking-the-top-trials-before-the-confirmation---rerank"),
        ("Presets: `schedule=NAME`", "presets-schedulename"),
        ("The model's latency behind the objective", "the-models-latency-behind-the-objective"),
        ("A Gaussian process without listing a wide knob's values", "a-gaussian-process-without-listing-a-wide-knobs-values"),
    ],
)
def test_heading_ids_follow_githubs_rule(heading: str, expected: str) -> None:
    assert slug(heading) == expected
