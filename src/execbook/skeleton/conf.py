# The configuration of this book; the README of execbook lists every option.
project = {title_repr}
author = {author_repr}
copyright = {copyright_repr}

extensions = ["execbook"]

# The frameworks of the book's code; the first is the default tab.
execbook_tabs = ["python"]

# Code marked #@save becomes the package `{package}`: `from {package} import python as {package}`.
execbook_library = {{"name": "{package}"}}

html_title = {title_repr}
html_static_path = ["_static"]
templates_path = ["_templates"]
