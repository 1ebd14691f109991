"""execbook build slides: a reveal.js deck per page from slide marks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import write_book

pytestmark = [pytest.mark.sphinx, pytest.mark.kernels]

PAGE = """
    # Gradients

    Prose that is not on any slide.

    [**Gradients point uphill**]: we step the other way.
    (**The step size matters.**)
    [~~A slide only:
    learning rates~~]

    ```{.python .input}
    #@tab all
    print(3 * 2)
    ```

    ## Unmarked section

    Text without marks.

    ```{.python .input}
    print('not on a slide')
    ```

    (~~Closing thought~~)
"""


def test_slide_marks_make_slides(tmp_path: Path) -> None:
    book = write_book(tmp_path / "book", {"index.md": PAGE})
    result = subprocess.run(
        [sys.executable, "-m", "execbook.cli", "build", "slides", "--book", str(book)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    deck = BeautifulSoup((book / "_build" / "slides" / "pytorch" / "index.slides.html").read_text(), "html.parser")
    slides = [s for s in deck.select("div.reveal div.slides > section")]
    texts = [" ".join(s.get_text(" ", strip=True).split()) for s in slides]
    assert len(slides) == 4, texts
    assert texts[0].startswith("Gradients")
    assert "Gradients point uphill" in texts[1] and "The step size matters." in texts[1]
    assert "A slide only: learning rates" in texts[2] and "print(3 * 2)" in slides[2].get_text()
    assert slides[2].select_one(".jp-OutputArea").get_text(strip=True) == "6"
    assert "Closing thought" in texts[3]
    whole = " ".join(texts)
    assert "not on any slide" not in whole and "not on a slide" not in whole
    assert (book / "_build" / "slides" / "numpy" / "index.slides.html").is_file()
