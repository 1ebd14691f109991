"""What changed between two runs of one job: its old and new notebooks, cell by cell.

Pure: two notebooks in, a list of ``Change`` out. No Sphinx, no files.

- Text (stdout, results' ``text/plain``) is compared with its numbers read as
  numbers: two texts are the same when their words match and each number is
  within a relative tolerance of its old value (``execbook_output_tolerance``),
  so ``loss 0.2500001`` is ``loss 0.25`` and ``loss 0.31`` is not. Object
  addresses (``at 0x7f...``) differ on every run and are not compared.
- Images are compared by their pixels (Pillow and numpy): a pixel counts as
  changed when a channel moved by more than ``PIXEL_STEP``, an image as changed
  when more than ``IMAGE_SHARE`` of its pixels did. A byte compare would report
  PNG encoder noise; nbdime's diff model (the maintained notebook diff) compares
  outputs for equality, bytes or text, with no tolerance for numbers or pixels,
  and brings a web server's dependencies: its model does not fit, Pillow does.
  SVG images (matplotlib's carry a date and random ids) are compared as text
  once those are taken out, their coordinates under the tolerance.
- Errors that appear, disappear or change come first; then, in page order,
  text, images and warnings new in stderr (other stderr, progress bars, is not
  compared).
- A cell silences itself with a comment: ``# execbook: ignore-output``
  (random-seeded noise, timings) or ``# execbook: tolerance=1e-3``.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TOLERANCE = 1e-6
PIXEL_STEP = 0.1  # of full scale: anti-aliasing and rounding stay under it
IMAGE_SHARE = 1e-4  # of the pixels: one 640x480 plot's 30 pixels
DIFF_LINES = 40  # lines of a text diff kept for the report
THUMB_SIZE = 320  # the longest side of a thumbnail, in pixels

ERROR_KINDS = ("error appeared", "error disappeared", "error changed")
IMAGE_TYPES = ("image/png", "image/jpeg")

# a number, not part of a word (conv2d, x1) nor of a longer number
NUMBER_RE = re.compile(r"(?<![\w.])([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)(?![\w.])")
ADDRESS_RE = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
DIRECTIVE_RE = re.compile(r"#\s*execbook:\s*(.*)$", re.MULTILINE)
WARNING_RE = re.compile(r"\b\w*(?:Warning|WARNING)\b")
SVG_METADATA_RE = re.compile(r"<metadata>.*?</metadata>", re.DOTALL)
SVG_ID_RE = re.compile(r'\bid="([^"]+)"')


@dataclass(frozen=True)
class CellRule:
    """How one cell's outputs are compared, from its ``# execbook:`` comment."""

    tolerance: float = DEFAULT_TOLERANCE
    ignore: bool = False


@dataclass
class Change:
    """One output of one cell that is not what it was."""

    page: str
    tab: str
    line: int  # the cell's fence line in the page (0: unknown)
    kind: str  # one of ERROR_KINDS, "text", "image", "warning"
    source: str  # the cell's first code line, to find it by eye
    old: str = ""
    new: str = ""
    diff: str = ""  # a unified diff of the text ("" for images)
    score: float = 0.0  # images: the share of pixels that changed
    old_image: bytes | None = field(default=None, repr=False)  # PNG, JPEG or SVG bytes
    new_image: bytes | None = field(default=None, repr=False)
    image_type: str = ""
    highlight: bytes | None = field(default=None, repr=False)  # PNG: the new image, changed pixels in red
    cell: str = ""  # a digest of the cell's whole source: the same cell in another build, whatever its line

    @property
    def is_error(self) -> bool:
        return self.kind in ERROR_KINDS

    @property
    def output_id(self) -> str:
        """The cell and the kind of output: what a run-to-run difference is remembered by (a cell's
        stdout and its results are both ``text``: one noisy text silences the other's changes too)."""
        return f"{self.cell}:{self.kind}"


def cell_rule(source: str, tolerance: float = DEFAULT_TOLERANCE) -> CellRule:
    """The cell's ``# execbook: ignore-output`` / ``tolerance=X`` comment, else the book's tolerance."""
    rule = CellRule(tolerance=tolerance)
    for match in DIRECTIVE_RE.finditer(source):
        for word in re.split(r"[\s,]+", match.group(1).strip()):
            if word == "ignore-output":
                rule = CellRule(rule.tolerance, True)
            elif word.startswith("tolerance="):
                try:
                    value = float(word.split("=", 1)[1])
                except ValueError:
                    continue  # not a number: the book's tolerance holds
                if math.isfinite(value) and value >= 0:
                    rule = CellRule(value, rule.ignore)
    return rule


def split_numbers(text: str) -> tuple[list[str], list[float]]:
    """The text's words (whitespace runs made one space) and its numbers, apart."""
    parts = NUMBER_RE.split(ADDRESS_RE.sub("0x?", text))
    words = [" ".join(part.split()) for part in parts[0::2]]
    return words, [float(number) for number in parts[1::2]]


def same_text(old: str, new: str, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Equal words and, number by number, within ``tolerance`` of the old value (relative)."""
    if old == new:
        return True
    old_words, old_numbers = split_numbers(old)
    new_words, new_numbers = split_numbers(new)
    if old_words != new_words or len(old_numbers) != len(new_numbers):
        return False
    return all(math.isclose(a, b, rel_tol=tolerance, abs_tol=0.0) for a, b in zip(old_numbers, new_numbers))


def text_diff(old: str, new: str, lines: int = DIFF_LINES) -> str:
    """``-old``/``+new`` lines with one line of context, at most ``lines`` of them."""
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1))[2:]
    if len(diff) > lines:
        diff = diff[:lines] + [f"... ({len(diff) - lines} more lines)"]
    return "\n".join(diff)


def new_warnings(old: str, new: str) -> list[str]:
    """Lines of ``new`` stderr that name a warning and were not in ``old`` (numbers aside: line numbers move)."""
    seen = {tuple(split_numbers(line)[0]) for line in old.splitlines()}
    return [line for line in new.splitlines() if WARNING_RE.search(line) and tuple(split_numbers(line)[0]) not in seen]


def normal_svg(svg: str) -> str:
    """matplotlib's SVG without what differs run to run: the metadata (a date) and ids (salted hashes)."""
    svg = SVG_METADATA_RE.sub("", svg)
    names = {name: f"id{number}" for number, name in enumerate(dict.fromkeys(SVG_ID_RE.findall(svg)))}
    if names:
        pattern = re.compile("|".join(re.escape(name) for name in sorted(names, key=len, reverse=True)))
        svg = pattern.sub(lambda match: names[match.group(0)], svg)
    return svg


# -- outputs of a cell ------------------------------------------------------------


@dataclass
class CellOutputs:
    """A cell's outputs, sorted by how they are compared."""

    stdout: str = ""
    stderr: str = ""
    errors: list[str] = field(default_factory=list)  # "ename: evalue"
    texts: list[str] = field(default_factory=list)  # results without an image
    images: list[tuple[str, bytes]] = field(default_factory=list)  # (media type, bytes)


def joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def cell_outputs(cell: Any) -> CellOutputs:
    found = CellOutputs()
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            if output.get("name") == "stderr":
                found.stderr += joined(output.get("text"))
            else:
                found.stdout += joined(output.get("text"))
        elif kind == "error":
            found.errors.append(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            image = output_image(data)
            if image is not None:
                found.images.append(image)
            elif "text/plain" in data:
                found.texts.append(joined(data["text/plain"]))
            elif "text/html" in data:
                found.texts.append(joined(data["text/html"]))
    return found


def output_image(data: dict[str, Any]) -> tuple[str, bytes] | None:
    """The output's image: PNG or JPEG (base64 in the notebook) before SVG (text)."""
    for media in IMAGE_TYPES:
        if media in data:
            try:
                return media, base64.b64decode(joined(data[media]))
            except (binascii.Error, ValueError):
                return media, joined(data[media]).encode()
    if "image/svg+xml" in data:
        return "image/svg+xml", joined(data["image/svg+xml"]).encode()
    return None


# -- images ---------------------------------------------------------------------


def pixels(image: bytes) -> Any:
    """The image as an (height, width, 3) array of 0..1, transparency laid on white (as a page shows it)."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(image)) as opened:
        rgba = opened.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.float32) / 255.0


def padded(image: Any, height: int, width: int) -> Any:
    """The image on a white canvas of that size, top left: a plot whose tight bounding box grew
    (wider tick labels) is compared where it overlaps, the rest counts as changed if not blank."""
    import numpy as np

    canvas = np.ones((height, width, 3), dtype=np.float32)
    canvas[: image.shape[0], : image.shape[1]] = image
    return canvas


def changed_pixels(old: bytes, new: bytes) -> tuple[Any, Any]:
    """A (height, width) mask of the pixels that moved by more than PIXEL_STEP, and the new image's
    pixels, both on the larger of the two sizes."""
    import numpy as np

    before, after = pixels(old), pixels(new)
    height, width = max(before.shape[0], after.shape[0]), max(before.shape[1], after.shape[1])
    before, after = padded(before, height, width), padded(after, height, width)
    return np.abs(after - before).max(axis=2) > PIXEL_STEP, after


def image_change(old: bytes, new: bytes) -> tuple[bool, float, bytes | None]:
    """Whether the image changed (more than IMAGE_SHARE of its pixels, or its size), the share of
    pixels that did (0..1) and the new image with them in red. Unreadable images, or no Pillow:
    compared as bytes."""
    if old == new:
        return False, 0.0, None
    try:
        mask, after = changed_pixels(old, new)
        resized = image_size(old) != image_size(new)
    except Exception:  # noqa: BLE001 - no Pillow/numpy, or bytes Pillow cannot read: bytes decide
        return True, 1.0, None
    score = float(mask.mean())
    return resized or score > IMAGE_SHARE, score, highlighted(after, mask) if mask.any() else None


def image_size(image: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(image)) as opened:
        return opened.size


def highlighted(image: Any, mask: Any) -> bytes:
    """The image (pixels) faded, its changed pixels (and a pixel around them) in red, as PNG."""
    import numpy as np
    from PIL import Image

    grown = mask.copy()  # a one-pixel line would vanish in a thumbnail: widen it
    grown[1:, :] |= mask[:-1, :]
    grown[:-1, :] |= mask[1:, :]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    faded = 1.0 - (1.0 - image) * 0.3
    faded[grown] = (0.86, 0.1, 0.1)
    out = io.BytesIO()
    Image.fromarray((faded * 255).astype(np.uint8)).save(out, "PNG")
    return out.getvalue()


def thumbnail(image: bytes, media: str = "image/png", size: int = THUMB_SIZE) -> bytes:
    """A PNG no larger than ``size`` on its longest side; SVG (and what Pillow cannot read) as it is."""
    if media == "image/svg+xml":
        return image
    try:
        from PIL import Image

        with Image.open(io.BytesIO(image)) as opened:
            small = opened.convert("RGBA")
        small.thumbnail((size, size))
        out = io.BytesIO()
        small.save(out, "PNG", optimize=True)
        return out.getvalue()
    except Exception:  # noqa: BLE001 - no Pillow, or an image it cannot read
        return image


# -- notebooks ------------------------------------------------------------------


def code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.get("cells", []) if cell.get("cell_type") == "code"]


def paired_cells(old: Sequence[Any], new: Sequence[Any]) -> list[tuple[Any, Any]]:
    """Old and new cells that are the same cell: equal sources, and, where some
    were edited, the edited ones in order (a cell added or removed has no pair)."""
    matcher = difflib.SequenceMatcher(
        a=[joined(cell.get("source")) for cell in old], b=[joined(cell.get("source")) for cell in new], autojunk=False
    )
    pairs = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag in ("equal", "replace"):
            pairs += list(zip(old[a0:a1], new[b0:b1]))
    return pairs


def first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip() and not DIRECTIVE_RE.match(line.strip()):
            return line.strip()
    return ""


def compare_cells(
    old_cell: Any, new_cell: Any, page: str, tab: str, tolerance: float = DEFAULT_TOLERANCE
) -> list[Change]:
    """What changed in one cell's outputs (nothing when its comment says ignore-output)."""
    source = joined(new_cell.get("source"))
    rule = cell_rule(source, tolerance)
    if rule.ignore:
        return []
    line = int(new_cell.get("metadata", {}).get("execbook", {}).get("line", 0) or 0)

    cell = hashlib.sha256(source.encode()).hexdigest()[:16]

    def change(kind: str, **values: Any) -> Change:
        return Change(page, tab, line, kind, first_line(source), cell=cell, **values)

    before, after = cell_outputs(old_cell), cell_outputs(new_cell)
    changes = []
    old_errors, new_errors = "\n".join(before.errors), "\n".join(after.errors)
    if old_errors != new_errors:
        kind = "error appeared" if not old_errors else "error disappeared" if not new_errors else "error changed"
        changes.append(change(kind, old=old_errors, new=new_errors, diff=text_diff(old_errors, new_errors)))
    for old_text, new_text in (
        (before.stdout, after.stdout),
        ("\n".join(before.texts), "\n".join(after.texts)),
    ):
        if not same_text(old_text, new_text, rule.tolerance):
            changes.append(change("text", old=old_text, new=new_text, diff=text_diff(old_text, new_text)))
    changes += compare_images(before.images, after.images, rule.tolerance, change)
    warnings = new_warnings(before.stderr, after.stderr)
    if warnings:
        changes.append(change("warning", new="\n".join(warnings), diff="\n".join(f"+{w}" for w in warnings)))
    return changes


def compare_images(
    old: list[tuple[str, bytes]], new: list[tuple[str, bytes]], tolerance: float, change: Any
) -> list[Change]:
    changes = []
    for index in range(max(len(old), len(new))):
        before = old[index] if index < len(old) else None
        after = new[index] if index < len(new) else None
        media = (after or before)[0]  # type: ignore[index]
        if before is not None and after is not None:
            if before[0] != after[0]:
                changed, score, mark = True, 1.0, None
            elif media == "image/svg+xml":
                same = same_text(
                    normal_svg(before[1].decode(errors="replace")),
                    normal_svg(after[1].decode("utf-8", "replace")),
                    tolerance,
                )
                changed, score, mark = not same, (0.0 if same else 1.0), None
            else:
                changed, score, mark = image_change(before[1], after[1])
            if not changed:
                continue
        else:
            score, mark = 1.0, None
        changes.append(
            change(
                "image",
                old="" if before is None else f"{before[0]} image",
                new="" if after is None else f"{after[0]} image",
                score=round(score, 6),
                old_image=None if before is None else before[1],
                new_image=None if after is None else after[1],
                image_type=media,
                highlight=mark,
            )
        )
    return changes


def compare_notebooks(old: Any, new: Any, page: str, tab: str, tolerance: float = DEFAULT_TOLERANCE) -> list[Change]:
    """Every changed output of a job's notebook against its earlier run; errors first."""
    changes = []
    for old_cell, new_cell in paired_cells(code_cells(old), code_cells(new)):
        changes += compare_cells(old_cell, new_cell, page, tab, tolerance)
    return ordered(changes)


def ordered(changes: list[Change]) -> list[Change]:
    """Errors first (appeared, disappeared, changed), then by page, framework and line."""
    rank = {kind: number for number, kind in enumerate(ERROR_KINDS)}
    return sorted(changes, key=lambda c: (rank.get(c.kind, len(rank)), c.page, c.tab, c.line))


def change_pages(changes: list[Change]) -> list[str]:
    return sorted({change.page for change in changes})


def summary(changes: list[Change]) -> str:
    """``3 outputs changed on 2 pages``."""
    return counted(len(changes), len(change_pages(changes)))


def counted(count: int, pages: int) -> str:
    return f"{plural(count, 'output')} changed on {plural(pages, 'page')}"


def plural(count: int, noun: str) -> str:
    """``1 page``, ``2 pages``."""
    return f"{count} {noun}{'s' if count != 1 else ''}"
