"""execbook.book.config: reading and checking the execbook_* options."""

from __future__ import annotations

import pytest
from sphinx.errors import ConfigError

from execbook.book import config as cfg


class FakeConfig:
    """Only the attributes ``from_sphinx`` reads."""

    def __init__(self, **values: object) -> None:
        defaults = cfg.ExecbookConfig()
        for name in cfg.option_names():
            setattr(self, name, values.get(name, getattr(defaults, name.removeprefix("execbook_"))))


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
    ],
)
def test_config_errors_name_the_option(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        cfg.from_sphinx(FakeConfig(**{"execbook_tabs": ["pytorch", "numpy"], **values}))
