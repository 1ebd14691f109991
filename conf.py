# Configuration of execbook's user guide, an execbook book itself. A book needs little more than
# this: execbook fills in MyST-NB, numbering, citations, the theme and MathJax.
project = "execbook"
author = "The execbook authors"
copyright = "2026, the execbook authors"

# autodoc: the API page (chapters/api.md) documents the generated library, one tab per framework;
# execbook.cli.reference: the reference pages' tables, generated from the code (options, commands, warnings)
# sphinx_design: tab sets for conf.py / config.ini variants (execbook's own tabs are frameworks)
extensions = ["execbook", "sphinx.ext.autodoc", "execbook.cli.reference", "sphinx_design"]

# The book's frameworks; the first is the default tab of unmarked code cells.
execbook_tabs = ["pytorch", "numpy"]

# The book's library, gathered from its #@save code: `from dlb import torch as dlb`.
execbook_library = {
    "name": "dlb",
    "modules": {"pytorch": "dlb/torch.py", "numpy": "dlb/numpy.py"},
    # one cell for both frameworks: dlb.concat runs everywhere, readers see torch.cat or np.concatenate
    "aliases": {
        "pytorch": {"lib_name": "torch", "simple": "concat -> cat", "fluent": "reduce_sum -> sum"},
        "numpy": {"lib_name": "np", "simple": "concat -> concatenate", "fluent": "reduce_sum -> sum"},
    },
}

# The repository root is both this book and the tool's source tree.
exclude_patterns = ["src", "tests", "benchmarks", "build", "dist"]  # build, dist: make dist

html_title = "execbook"
html_static_path = ["_static"]
templates_path = ["_templates"]
html_css_files = ["book.css"]
