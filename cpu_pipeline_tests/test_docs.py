"""The README stays a short start, and the links between it and the docs pages hold: every relative link
and image names a file that exists and, where it names a heading (`page.md#heading`), a heading that page
has, spelt as GitHub spells its anchors."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]

# What the README may hold before its depth belongs in docs/ (issue 20).
README_MAX_LINES = 150

_FENCED_CODE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)


def prose(page: Path) -> str:
    """The page's text without its code, where brackets and parentheses are not links."""
    return _INLINE_CODE.sub("", _FENCED_CODE.sub("", page.read_text()))


def relative_links(page: Path) -> list[str]:
    return [target for target in _LINK.findall(prose(page)) if not re.match(r"[a-z]+:", target)]


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for the page's headings: lower case, punctuation dropped, spaces as hyphens, a
    repeated one numbered (`-1`, `-2`)."""
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(_FENCED_CODE.sub("", page.read_text())):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading reads as its text
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def test_the_readme_is_a_short_start():
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move the depth into a docs/ page"


def test_every_relative_link_names_a_file_and_a_heading_that_exist():
    broken = []
    for page in PAGES:
        for target in relative_links(page):
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_the_link_check_sees_links_and_anchors(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Storage over a year: storage_growth.py\n\n## `make serve`, twice\n\n## `make serve`, twice\n\n"
        "See [a](other.md#x), ![b](pic.png) and [c](https://example.com), not `[d](code.md)`.\n\n"
        "```\n[e](fenced.md)\n```\n"
    )
    assert relative_links(page) == ["other.md#x", "pic.png"]
    assert anchors(page) == {"storage-over-a-year-storage_growthpy", "make-serve-twice", "make-serve-twice-1"}
