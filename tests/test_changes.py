"""The comparison of a job's outputs with its earlier run (execute/changes.py): pure, many small cases."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import nbformat
import pytest

from execbook.execute import changes as ch

# -- text with numbers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "tolerance", "same"),
    [
        ("loss 0.25", "loss 0.25", 1e-6, True),
        ("loss 0.25", "loss 0.2500000001", 1e-6, True),
        ("loss 0.25", "loss 0.31", 1e-6, False),
        ("loss 0.25", "loss 0.2501", 1e-3, True),
        ("loss 0.25", "loss 0.2501", 1e-6, False),
        ("loss 0.25", "error 0.25", 1e-6, False),
        ("epoch 1, acc 0.9", "epoch 2, acc 0.9", 1e-6, False),
        ("tensor([1.0000, 2.0000])", "tensor([1.0000,   2.0000])", 1e-6, True),  # columns widened
        ("[1 2 3]", "[1 2]", 1e-6, False),
        ("1e-3", "0.001", 1e-6, True),
        ("-0.0000", "0.0000", 1e-6, True),
        ("conv2d x1", "conv3d x1", 1e-6, False),  # digits in names are words
        ("<object at 0x7f3a2b4c5d60>", "<object at 0x7f11aa22bb33>", 0.0, True),  # addresses differ every run
        ("nan", "nan", 1e-6, True),
        ("nan", "inf", 1e-6, False),
        ("10 samples", "10 samples\n", 1e-6, True),
        ("", "something", 1e-6, False),
    ],
)
def test_same_text(old: str, new: str, tolerance: float, same: bool) -> None:
    assert ch.same_text(old, new, tolerance) is same


@pytest.mark.parametrize(
    ("source", "tolerance", "ignore"),
    [
        ("x = 1", 1e-6, False),
        ("# execbook: ignore-output\nprint(time.time())", 1e-6, True),
        ("# execbook: tolerance=1e-3\nprint(loss)", 1e-3, False),
        ("print(loss)  # execbook: tolerance=0.05", 0.05, False),
        ("# execbook: tolerance=1e-2, ignore-output", 1e-2, True),
        ("# execbook: tolerance=lots", 1e-6, False),  # not a number: the book's tolerance
        ("# execbook: tolerance=-1", 1e-6, False),
        ("# execbook:ignore-output", 1e-6, True),
    ],
)
def test_cell_rule(source: str, tolerance: float, ignore: bool) -> None:
    assert ch.cell_rule(source) == ch.CellRule(tolerance, ignore)


def test_cell_rule_default_is_the_books() -> None:
    assert ch.cell_rule("x = 1", 0.01).tolerance == 0.01


def test_text_diff_shows_old_and_new_lines() -> None:
    diff = ch.text_diff("epoch 1\nloss 0.5\ndone", "epoch 1\nloss 0.7\ndone")
    assert diff.splitlines() == ["@@ -1,3 +1,3 @@", " epoch 1", "-loss 0.5", "+loss 0.7", " done"]


def test_text_diff_is_cut() -> None:
    diff = ch.text_diff("\n".join(map(str, range(100))), "\n".join(str(n + 1000) for n in range(100)), lines=10)
    assert len(diff.splitlines()) == 11 and diff.endswith("more lines)")


def test_new_warnings_only_new_ones() -> None:
    old = "/x/a.py:12: UserWarning: old one\n  warnings.warn(\n"
    new = old.replace(":12:", ":14:") + "/x/b.py:3: DeprecationWarning: torch.foo is deprecated\n100%|###| 3/3\n"
    assert ch.new_warnings(old, new) == ["/x/b.py:3: DeprecationWarning: torch.foo is deprecated"]


def test_svg_without_date_and_ids() -> None:
    one = '<svg><metadata><dc:date>2024-01-01</dc:date></metadata><clipPath id="p1a2b"/><use href="#p1a2b"/></svg>'
    two = '<svg><metadata><dc:date>2025-06-07</dc:date></metadata><clipPath id="pffee"/><use href="#pffee"/></svg>'
    assert ch.normal_svg(one) == ch.normal_svg(two)
    assert 'id="id0"' in ch.normal_svg(one) and "#id0" in ch.normal_svg(one)


# -- notebooks ---------------------------------------------------------------------


def cell(source: str, *outputs: dict, line: int = 3) -> nbformat.NotebookNode:
    made = nbformat.v4.new_code_cell(source, metadata={"execbook": {"line": line}})
    made.outputs = [nbformat.from_dict(output) for output in outputs]
    return made


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=list(cells))


def stdout(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def stderr(text: str) -> dict:
    return {"output_type": "stream", "name": "stderr", "text": text}


def result(text: str) -> dict:
    return {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": text}}


def error(ename: str, evalue: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def png(draw: str = "", size: tuple[int, int] = (100, 80)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    pen = ImageDraw.Draw(image)
    if draw == "line":
        pen.line((0, 10, 99, 60), fill="blue", width=2)
    elif draw == "other line":
        pen.line((0, 10, 99, 30), fill="blue", width=2)
    elif draw == "dot":
        pen.point((50, 40), fill=(250, 250, 250))  # one faint pixel: under PIXEL_STEP
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def picture(data: bytes, media: str = "image/png") -> dict:
    encoded = base64.b64encode(data).decode() if media != "image/svg+xml" else data.decode()
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {media: encoded, "text/plain": "<Figure size 640x480 with 1 Axes>"},
    }


def compare(old: list, new: list, tolerance: float = 1e-6) -> list[ch.Change]:
    return ch.compare_notebooks(notebook(*old), notebook(*new), "ch/page", "pytorch", tolerance)


def test_unchanged_outputs_are_not_listed() -> None:
    cells = [cell("print(1)", stdout("1\n")), cell("x", result("3"))]
    assert compare(cells, cells) == []


def test_a_changed_number_is_listed_with_old_and_new() -> None:
    (change,) = compare(
        [cell("print(a)", stdout("loss 0.5\n"), line=7)], [cell("print(a)", stdout("loss 0.7\n"), line=7)]
    )
    assert (change.page, change.tab, change.line, change.kind) == ("ch/page", "pytorch", 7, "text")
    assert (change.old, change.new, change.source) == ("loss 0.5\n", "loss 0.7\n", "print(a)")
    assert "-loss 0.5" in change.diff and "+loss 0.7" in change.diff


def test_within_tolerance_is_not_listed() -> None:
    assert compare([cell("a", stdout("0.5000001"))], [cell("a", stdout("0.5000002"))], tolerance=1e-6) == []
    assert compare([cell("a", stdout("0.51"))], [cell("a", stdout("0.52"))], tolerance=0.05) == []


def test_cell_comment_overrides_the_tolerance() -> None:
    source = "# execbook: tolerance=0.1\nprint(loss)"
    assert compare([cell(source, stdout("0.50"))], [cell(source, stdout("0.52"))]) == []
    assert len(compare([cell("print(loss)", stdout("0.50"))], [cell("print(loss)", stdout("0.52"))])) == 1


def test_ignore_output_silences_a_cell() -> None:
    source = "# execbook: ignore-output\nprint(time.time())"
    assert compare([cell(source, stdout("12.5 s"))], [cell(source, stdout("13.9 s"))]) == []


def test_results_are_compared_as_text() -> None:
    (change,) = compare([cell("x", result("tensor([1., 2.])"))], [cell("x", result("tensor([1., 3.])"))])
    assert change.kind == "text" and change.new == "tensor([1., 3.])"


def test_the_edited_cell_is_paired_with_its_old_self() -> None:
    old = [cell("a = 1", line=3), cell("print(a)", stdout("1\n"), line=5)]
    new = [cell("a = 2", line=3), cell("print(a)", stdout("2\n"), line=5)]
    (change,) = compare(old, new)
    assert change.line == 5 and change.old == "1\n" and change.new == "2\n"


def test_a_new_cell_has_no_earlier_result() -> None:
    old = [cell("print(1)", stdout("1\n"))]
    new = [cell("print(0)", stdout("0\n"), line=2), cell("print(1)", stdout("1\n"), line=9)]
    assert compare(old, new) == []


def test_errors_that_appear_are_listed_first() -> None:
    old = [cell("print(a)", stdout("1\n"), line=3), cell("f()", line=9)]
    new = [cell("print(a)", stdout("2\n"), line=3), cell("f()", error("ValueError", "bad"), line=9)]
    changes = compare(old, new)
    assert [(c.kind, c.line) for c in changes] == [("error appeared", 9), ("text", 3)]
    assert changes[0].new == "ValueError: bad"


def test_errors_that_disappear_or_change() -> None:
    gone = compare([cell("f()", error("KeyError", "'x'"))], [cell("f()", stdout("ok\n"))])
    assert [c.kind for c in gone] == ["error disappeared", "text"]
    changed = compare([cell("f()", error("KeyError", "'x'"))], [cell("f()", error("KeyError", "'y'"))])
    assert [(c.kind, c.old, c.new) for c in changed] == [("error changed", "KeyError: 'x'", "KeyError: 'y'")]


def test_new_warnings_in_stderr() -> None:
    old = [cell("train()", stderr("100%|####| 10/10 [00:01<00:00]\n"))]
    new = [cell("train()", stderr("100%|####| 10/10 [00:02<00:00]\nFutureWarning: `x` will change\n"))]
    (change,) = compare(old, new)
    assert change.kind == "warning" and change.new == "FutureWarning: `x` will change"


def test_other_stderr_is_not_compared() -> None:
    assert compare([cell("t()", stderr("took 1.2 s\n"))], [cell("t()", stderr("took 3.4 s\n"))]) == []


# -- images ----------------------------------------------------------------------


def test_the_same_picture_encoded_again_is_unchanged() -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    again = io.BytesIO()
    Image.open(io.BytesIO(png("line"))).save(again, "PNG", compress_level=1)  # other bytes, same pixels
    assert again.getvalue() != png("line")
    assert compare([cell("plot()", picture(png("line")))], [cell("plot()", picture(again.getvalue()))]) == []


def test_a_faint_pixel_is_under_the_threshold() -> None:
    pytest.importorskip("PIL")
    assert compare([cell("plot()", picture(png()))], [cell("plot()", picture(png("dot")))]) == []


def test_a_moved_line_is_a_changed_image() -> None:
    pytest.importorskip("PIL")
    (change,) = compare(
        [cell("plot()", picture(png("line")), line=4)], [cell("plot()", picture(png("other line")), line=4)]
    )
    assert change.kind == "image" and change.line == 4 and change.image_type == "image/png"
    assert change.old_image == png("line") and change.new_image == png("other line")
    assert 0.001 < change.score < 0.5
    from PIL import Image

    marked = Image.open(io.BytesIO(change.highlight)).convert("RGB")
    assert marked.size == (100, 80)
    assert marked.getpixel((99, 30)) == (219, 25, 25)  # where only the new line is: red
    assert marked.getpixel((5, 75)) == (255, 255, 255)  # untouched background stays white


def test_a_resized_image_is_changed_where_it_differs() -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    (change,) = compare([cell("p", picture(png("line")))], [cell("p", picture(png("line", size=(120, 80))))])
    assert change.kind == "image" and change.score == 0.0  # blank where it grew, the line unmoved: still listed
    (change,) = compare([cell("p", picture(png("line")))], [cell("p", picture(png("other line", size=(120, 90))))])
    marked = Image.open(io.BytesIO(change.highlight)).convert("RGB")
    assert marked.size == (120, 90) and marked.getpixel((99, 30)) == (219, 25, 25)


def test_an_image_that_appears() -> None:
    (change,) = compare([cell("p", stdout(""))], [cell("p", picture(b"not read"))])
    assert change.kind == "image" and change.old_image is None and change.new_image == b"not read"


def test_svg_images_compared_without_their_date_and_ids() -> None:
    def svg(date: str, salt: str, y: str) -> bytes:
        return (
            f'<svg><metadata><dc:date>{date}</dc:date></metadata><clipPath id="p{salt}"/>'
            f'<path clip-path="url(#p{salt})" d="M 0 0 L 10 {y}"/></svg>'
        ).encode()

    old = [cell("plot()", picture(svg("2024", "ab12", "5"), "image/svg+xml"))]
    assert compare(old, [cell("plot()", picture(svg("2025", "cd34", "5"), "image/svg+xml"))]) == []
    (change,) = compare(old, [cell("plot()", picture(svg("2025", "cd34", "7"), "image/svg+xml"))])
    assert change.kind == "image" and change.image_type == "image/svg+xml"
    from execbook.execute.changed import change_data, located

    # no share of pixels for a drawing compared as text
    assert located(change_data(change, {})).endswith("[pytorch] image: the SVG drawing differs")


def test_the_figure_text_of_an_image_is_not_compared() -> None:
    pytest.importorskip("PIL")
    old = picture(png("line"))
    new = {**picture(png("line")), "data": {**picture(png("line"))["data"], "text/plain": "<Figure size 600x480>"}}
    assert compare([cell("p", old)], [cell("p", new)]) == []


def test_thumbnail_is_small_png() -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    small = Image.open(io.BytesIO(ch.thumbnail(png(size=(1000, 500)), size=100)))
    assert small.size == (100, 50) and small.format == "PNG"


def test_summary() -> None:
    one = ch.Change("a", "pytorch", 1, "text", "x")
    assert ch.summary([one]) == "1 output changed on 1 page"
    assert ch.summary([one, one, ch.Change("b", "numpy", 1, "image", "y")]) == "3 outputs changed on 2 pages"


def test_known_noise_is_put_apart_but_never_an_error() -> None:
    from execbook.execute.changed import index_id, split_unstable

    noisy = ch.Change("a", "pytorch", 3, "text", "print(x)", cell="c1")
    real = ch.Change("a", "pytorch", 5, "text", "print(y)", cell="c2")
    error = ch.Change("a", "pytorch", 3, "error appeared", "print(x)", cell="c1")
    other_tab = ch.Change("a", "numpy", 3, "text", "print(x)", cell="c1")
    unstable = {index_id("a", "pytorch"): {noisy.output_id, error.output_id.replace("error appeared", "text")}}
    kept, noise = split_unstable([noisy, real, error, other_tab], unstable)
    assert noise == [noisy]
    assert kept == [real, error, other_tab]  # another cell, an error, another framework


def test_unstable_json_that_cannot_be_read_is_empty(tmp_path: Path) -> None:
    from execbook.execute.changed import UNSTABLE_FILE, read_unstable

    assert read_unstable(tmp_path) == {}
    for text in ("not json", "[1, 2]", '{"a|pytorch": "x"}'):
        (tmp_path / UNSTABLE_FILE).write_text(text)
        assert read_unstable(tmp_path) == {}
    (tmp_path / UNSTABLE_FILE).write_text('{"a|pytorch": ["c1:text", 3]}')
    assert read_unstable(tmp_path) == {"a|pytorch": {"c1:text"}}
