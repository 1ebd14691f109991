# The configuration of this book; the README of execbook lists every option.
project = "{title}"
author = "{author}"
copyright = "{year}, {author}"

extensions = ["execbook"]

# The frameworks of the book's code; the first is the default tab.
execbook_tabs = ["python"]

# Code marked #@save becomes the package `{package}`: `from {package} import python as {package}`.
execbook_library = {{"name": "{package}"}}

html_title = "{title}"
html_static_path = ["_static"]
templates_path = ["_templates"]
