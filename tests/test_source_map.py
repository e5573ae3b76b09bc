"""The source map, the further-reading page and the errata against the source notes.

`book/appendix/source_map.md` must give every markdown heading of every note (with its line
number) a row that links to a chapter heading, and name no heading the notes do not have;
`book/appendix/further_reading.md` must list every link in the notes that is not an image.
The notes live outside the repository, in `../shared/seeds/`; without them the module skips.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
APPENDIX = ROOT / "book" / "appendix"
SOURCE_MAP = APPENDIX / "source_map.md"
FURTHER_READING = APPENDIX / "further_reading.md"

if not SEEDS.is_dir() or not any(SEEDS.glob("*.txt")):
    pytest.skip(f"the source notes are not on this machine (looked in {SEEDS})", allow_module_level=True)

NOTES = sorted(SEEDS.glob("*.txt"))
NOTE_HEADING = re.compile(r"^#{1,6}\s+\S")
MAP_SECTION = re.compile(r"^##\s+.*`(\d{3}_[0-9a-f]+\.txt)`")
# a link in the "covered in" column: [text](../NN_name.ipynb#anchor) or [text](page.md#anchor)
MAP_LINK = re.compile(r"\]\((\.\./\d\d_[a-z0-9_]+\.ipynb|[a-z_]+\.md)#([^)\s]+)\)")
URL = re.compile(r"https?://[^\s<>\"'()（）]+")
IMAGE = re.compile(r"<img\b[^>]*>|!\[[^\]]*\]\([^)]*\)", re.IGNORECASE)


def normalize(text):
    """Compare heading texts without bold markers and with runs of white space collapsed."""
    return " ".join(text.replace("**", "").split())


def note_headings(path):
    """[(line number, heading text)] of every markdown heading of a note."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return [(i, normalize(re.sub(r"^#+", "", line)))
            for i, line in enumerate(lines, 1) if NOTE_HEADING.match(line)]


def map_rows():
    """{note file name: [(line, heading text, covered-in cell)]} from the source map's tables."""
    rows, note = {}, None
    for line in SOURCE_MAP.read_text(encoding="utf-8").split("\n"):
        if line.startswith("## "):
            match = MAP_SECTION.match(line)
            note = match.group(1) if match else None
            if note:
                assert note not in rows, f"two sections for {note} in {SOURCE_MAP.name}"
                rows[note] = []
        elif note and line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] in ("note section", "---") or set(cells[0]) <= set("-: "):
                continue
            assert len(cells) >= 3 and cells[1].isdigit(), f"malformed row in {SOURCE_MAP.name}: {line}"
            rows[note].append((int(cells[1]), normalize(cells[0]), cells[2]))
    return rows


def heading_anchor_level():
    match = re.search(r"^\s*myst_heading_anchors:\s*(\d+)", (ROOT / "_config.yml").read_text(), re.M)
    assert match, "_config.yml must set myst_heading_anchors, or the source map's #anchors do not resolve"
    return int(match.group(1))


_SLUG_DROP = re.compile(r"[^\w\u4e00-\u9fff\- ]")


def slugify(heading):
    """MyST's heading anchor for the text of a heading (myst_parser's default_slugify).

    MyST slugifies only the heading's text and inline-code children: math is dropped,
    markup characters vanish, the code's backticks go and its content stays. Then: lower
    case, each space to '-', every character that is not a word character, CJK or '-'
    removed. Nothing is stripped afterwards, so "uniform bound $x$" gives "uniform-bound-".
    """
    text = re.sub(r"\$\$.*?\$\$|\$[^$]+\$", "", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    return _SLUG_DROP.sub("", text.lower().replace(" ", "-"))


def markdown_headings(text, max_level):
    """Heading texts of level <= max_level in markdown, skipping fenced blocks."""
    found, fence = [], None
    for line in text.split("\n"):
        marker = re.match(r"^\s*(`{3,}|~{3,}|:{3,})", line)
        if marker:
            if fence is None:
                fence = marker.group(1)
            elif line.strip() == fence:
                fence = None
            continue
        heading = re.match(r"^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$", line)
        if fence is None and heading and len(heading.group(1)) <= max_level:
            found.append(heading.group(2))
    return found


def anchors(path, max_level):
    """The heading anchors MyST creates in a notebook or markdown page (unique per page)."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    else:
        texts = [path.read_text(encoding="utf-8")]
    slugs = set()
    for text in texts:
        for heading in markdown_headings(text, max_level):
            slug = base = slugify(heading)
            n = 1
            while slug in slugs:
                slug, n = f"{base}-{n}", n + 1
            slugs.add(slug)
    return slugs


def test_slugify_matches_myst():
    assert slugify("Worked example A: the 2-2-1 ReLU network of note 000") == (
        "worked-example-a-the-2-2-1-relu-network-of-note-000")
    assert slugify("Batches: the notes' columns and `course_nn`'s rows") == (
        "batches-the-notes-columns-and-course_nns-rows")
    assert slugify("3.3 Swish (SiLU) and its $\\beta$") == "33-swish-silu-and-its-"
    assert slugify("Choosing $\\lambda$ on the validation set") == "choosing--on-the-validation-set"
    assert slugify("Padding (填充)") == "padding-填充"
    assert slugify("Small random numbers: `0.01 * randn`") == "small-random-numbers-001--randn"


def test_every_note_has_a_section():
    rows = map_rows()
    missing = [n.name for n in NOTES if n.name not in rows]
    assert not missing, f"{SOURCE_MAP.name} has no '## ... (`file`)' section for: {missing}"
    extra = sorted(set(rows) - {n.name for n in NOTES})
    assert not extra, f"{SOURCE_MAP.name} has sections for notes that do not exist: {extra}"


def test_every_note_heading_is_mapped():
    rows = map_rows()
    unmapped = []
    for note in NOTES:
        mapped = {(line, text) for line, text, _ in rows.get(note.name, [])}
        unmapped += [f"{note.name}:{line}: {text}" for line, text in note_headings(note)
                     if (line, text) not in mapped]
    assert not unmapped, f"{len(unmapped)} note headings have no row in {SOURCE_MAP.name}:\n" + "\n".join(
        unmapped)


def test_no_stale_or_duplicate_rows():
    rows = map_rows()
    problems = []
    for note in NOTES:
        real = set(note_headings(note))
        seen = set()
        for line, text, _ in rows.get(note.name, []):
            if (line, text) not in real:
                problems.append(f"{note.name}:{line}: {text!r} is not a heading of the note")
            if (line, text) in seen:
                problems.append(f"{note.name}:{line}: {text!r} has two rows")
            seen.add((line, text))
    assert not problems, "\n".join(problems)


def test_every_row_links_to_an_existing_heading():
    level = heading_anchor_level()
    cache, problems = {}, []
    for note, entries in map_rows().items():
        for line, text, covered in entries:
            links = MAP_LINK.findall(covered)
            if not links:
                problems.append(f"{note}:{line}: {text!r} links to no chapter section")
            for target, anchor in links:
                path = (APPENDIX / target).resolve()
                if not path.is_file():
                    problems.append(f"{note}:{line}: {target} does not exist")
                    continue
                if path not in cache:
                    cache[path] = anchors(path, level)
                if anchor not in cache[path]:
                    problems.append(f"{note}:{line}: {target} has no heading (level <= {level}) "
                                    f"with anchor #{anchor}")
    assert not problems, "\n".join(problems)


def test_further_reading_lists_every_link_of_the_notes():
    page = FURTHER_READING.read_text(encoding="utf-8")
    missing = []
    for note in NOTES:
        for i, line in enumerate(note.read_text(encoding="utf-8").split("\n"), 1):
            for url in URL.findall(IMAGE.sub("", line)):
                url = url.rstrip(".,;:，。；：")
                if url not in page:
                    missing.append(f"{note.name}:{i}: {url}")
    assert not missing, f"{FURTHER_READING.name} lacks links from the notes:\n" + "\n".join(missing)


def test_further_reading_leaves_out_the_image_urls():
    page = FURTHER_READING.read_text(encoding="utf-8")
    images = [url for note in NOTES for tag in IMAGE.findall(note.read_text(encoding="utf-8"))
              for url in URL.findall(tag)]
    if not images:
        pytest.skip("the notes link no images")
    listed = [url for url in images if url in page]
    assert not listed, f"image URLs are pictures the book re-creates, not reading: {listed}"


# The errata page against the notes: its quotations are verbatim, its links reach headings.

ERRATA = APPENDIX / "errata.md"
CODE_SPAN = re.compile(r"`([^`\n]+)`")
NOTE_NUMBER = re.compile(r"\b(00[0-4])\b")
PAGE_LINK = re.compile(r"\]\((\.\./\d\d_[a-z0-9_]+\.ipynb|[a-z_]+\.md)#([^)\s]+)\)")


def squeeze(text):
    """Compare quotations without white space (the notes wrap and pad lines freely)."""
    return "".join(text.split())


def errata_tables():
    """[(note file name or None, header cells, row cells)] for every table row of the errata."""
    rows, note, header = [], None, None
    for line in ERRATA.read_text(encoding="utf-8").split("\n"):
        if line.startswith("## "):
            match = MAP_SECTION.match(line)
            note, header = (match.group(1) if match else None), None
        elif line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            if set("".join(cells)) <= set("-: "):
                continue
            if header is None:
                header = cells
            else:
                assert len(cells) == len(header), f"{ERRATA.name}: row with {len(cells)} cells: {line}"
                rows.append((note, header, cells))
        else:
            header = None if not line.strip() else header
    return rows


def test_errata_quote_the_notes_verbatim():
    """Every `code span` in the "what the note says" column occurs in the note the row is
    about (the section's note, or a note named in the row's place or note column)."""
    texts = {n.name: squeeze(n.read_text(encoding="utf-8")) for n in NOTES}
    by_number = {name[:3]: name for name in texts}
    rows = errata_tables()
    assert rows, f"no tables found in {ERRATA.name}"
    problems = []
    for note, header, cells in rows:
        row = dict(zip(header, cells, strict=True))
        quote_cell = row.get("what the note says")
        assert quote_cell is not None, f"{ERRATA.name}: a table without 'what the note says': {header}"
        candidates = {note} if note else set()
        for key in ("place", "note"):
            candidates |= {by_number[n] for n in NOTE_NUMBER.findall(row.get(key, "")) if n in by_number}
        quotes = CODE_SPAN.findall(quote_cell)
        if not quotes:
            problems.append(f"{row.get('place')}: no verbatim quotation in `code font`")
        for quote in quotes:
            if not any(squeeze(quote.replace("\\|", "|")) in texts[c] for c in candidates if c):
                notes = sorted(c for c in candidates if c)
                problems.append(f"{row.get('place')}: {quote!r} is not in {notes}")
    assert not problems, "quotations that are not the notes' words:\n" + "\n".join(problems)


def test_errata_rows_have_a_known_kind():
    kinds = {"wrong", "misleading", "typo", "garble"}
    bad = [(row[1][0], row[2][0]) for row in errata_tables()
           if "kind" in row[1] and dict(zip(row[1], row[2], strict=True))["kind"] not in kinds]
    assert not bad, f"rows whose kind is not one of {sorted(kinds)}: {bad}"


def test_errata_links_reach_headings():
    level = heading_anchor_level()
    cache, problems = {}, []
    for target, anchor in PAGE_LINK.findall(ERRATA.read_text(encoding="utf-8")):
        path = (APPENDIX / target).resolve()
        if not path.is_file():
            problems.append(f"{target} does not exist")
            continue
        if path not in cache:
            cache[path] = anchors(path, level)
        if anchor not in cache[path]:
            problems.append(f"{target} has no heading (level <= {level}) with anchor #{anchor}")
    assert not problems, "\n".join(problems)
