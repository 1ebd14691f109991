"""execbook.book.config: reading and checking the execbook_* options."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sphinx.errors import ConfigError

from execbook.book import config as cfg


class FakeConfig:
    """Only the attributes ``from_sphinx`` reads."""

    def __init__(self, **values: object) -> None:
        for field in cfg.option_fields():
            name = f"execbook_{field.name}"
            setattr(self, name, values.get(name, cfg.option_default(field)))


def test_config_reads_valid_values() -> None:
    options = cfg.from_sphinx(FakeConfig(execbook_tabs=["pytorch", "numpy"], execbook_tab_labels={"numpy": "NP"}))
    assert options.default_tab == "pytorch"
    assert options.label("numpy") == "NP"
    assert options.label("pytorch") == "PyTorch"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"execbook_tabs": "pytorch"}, "execbook_tabs must be a list"),
        ({"execbook_tabs": []}, "execbook_tabs must name at least one"),
        ({"execbook_tabs": ["py torch"]}, "execbook_tabs: 'py torch' is not a valid tab name"),
        ({"execbook_tabs": ["all"]}, "not a valid tab name"),
        ({"execbook_tabs": ["a", "a"]}, "names a tab twice"),
        ({"execbook_tabs": [1]}, "execbook_tabs must hold only a strings"),
        ({"execbook_tab_labels": {"pytoch": "x"}}, "execbook_tab_labels names unknown tab 'pytoch'"),
        ({"execbook_header_switcher": "yes"}, "execbook_header_switcher must be True or False"),
        ({"execbook_pdf": {"style": 3}}, "execbook_pdf['style'] must be text"),
        ({"execbook_pdf": {"latex_url": None}}, "execbook_pdf['latex_url'] must be text"),
        ({"execbook_colab_svg_url": [["img"]]}, "execbook_colab_svg_url must hold [prefix, URL] pairs"),
        ({"execbook_workers": 0}, "execbook_workers must be at least 1, got 0"),
        ({"execbook_timeout": -1}, "execbook_timeout must be a positive number, got -1"),
        # nan passed `<= 0`, and nan or inf seconds stopped every kernel from starting, mid-build
        ({"execbook_kernel_start_timeout": float("nan")}, "execbook_kernel_start_timeout must be a positive number"),
        ({"execbook_kernel_start_timeout": float("inf")}, "execbook_kernel_start_timeout must be a positive number"),
        # refused when read: execbook diff handed it to math.isclose, which raises ValueError on it
        ({"execbook_output_tolerance": -1}, "execbook_output_tolerance must be a number >= 0"),
        ({"execbook_output_tolerance": float("nan")}, "execbook_output_tolerance must be a number >= 0"),
        ({"execbook_output_tolerance": float("inf")}, "execbook_output_tolerance must be a number >= 0"),
        (
            {"execbook_library": {"name": "d2l", "aliases": {"jax": {}}}},
            "execbook_library['aliases'] names unknown tab",
        ),
    ],
)
def test_config_errors_name_the_option(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        cfg.from_sphinx(FakeConfig(**{"execbook_tabs": ["pytorch", "numpy"], **values}))


def test_nested_options_are_read_into_typed_values() -> None:
    """execbook_pdf and execbook_library, written as dicts, are read once into frozen dataclasses:
    defaults filled in, aliases parsed; a book without a library has none (not an empty dict)."""
    options = cfg.from_sphinx(
        FakeConfig(
            execbook_tabs=["pytorch", "numpy"],
            execbook_pdf={"name": "book", "fonts": {"main": "FreeSerif"}},
            execbook_library={
                "name": "d2l",
                "modules": {"pytorch": "d2l/torch.py"},
                "aliases": {"pytorch": {"lib_name": "torch", "simple": "concat -> cat"}},
            },
            execbook_colab_svg_url=[["img", "https://d2l.ai/_images"]],
        )
    )
    assert options.pdf == cfg.PdfOptions(name="book", paper="a4paper", fonts={"main": "FreeSerif"})
    assert options.library is not None
    assert (options.library.name, options.library.modules) == ("d2l", {"pytorch": "d2l/torch.py"})
    assert options.library.aliases["pytorch"].shown("d2l.concat(x)", "d2l") == "torch.cat(x)"
    assert options.colab_svg_url == [("img", "https://d2l.ai/_images")]
    plain = cfg.from_sphinx(FakeConfig())
    assert plain.library is None and plain.pdf == cfg.PdfOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.pdf.name = "other"  # type: ignore[misc]


def test_the_default_sphinx_knows_is_the_one_conf_py_writes() -> None:
    """Sphinx and the options page are told the written default ({}), not the dataclass it becomes."""
    fields = {field.name: field for field in cfg.option_fields()}
    assert cfg.option_default(fields["pdf"]) == {} and cfg.option_default(fields["library"]) == {}
    assert cfg.option_default(fields["tabs"]) == ["python"] and cfg.option_default(fields["timeout"]) == 1200
