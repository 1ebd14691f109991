# The demo book's commands. `make html` and `make test` bootstrap .venv
# themselves on first use (and again when requirements.txt or pyproject.toml change).

PYTHON     ?= python3
VENV       ?= .venv
BUILDDIR   := _build# execbook's commands build into the book's _build
SPHINXOPTS ?=
PYTEST_ARGS ?=

BIN := $(VENV)/bin

.PHONY: help html check-links serve pdf notebooks slides lib lint test test-lowest unit bench dist clean

help:
	@echo "make html   build the book's website into $(BUILDDIR)/html"
	@echo "make check-links  every internal link of the built site resolves (exit 1 if not)"
	@echo "make test   lint, then the whole test suite in two workers (parser, Sphinx builds, kernels, browser)"
	@echo "make lint   ruff check, ruff format --check, lint-imports (the stages import one way)"
	@echo "make serve  live preview on http://127.0.0.1:8000, rebuilt on save"
	@echo "make pdf    one PDF per framework into $(BUILDDIR)/pdf (needs TeX Live)"
	@echo "make notebooks  .ipynb per page and framework, and zips, into $(BUILDDIR)/notebooks"
	@echo "make slides reveal.js decks from slide marks, into $(BUILDDIR)/slides"
	@echo "make lib    write the book's library (dlb/) into this folder"
	@echo "make test-lowest  the oldest versions pyproject.toml admits (constraints/lowest.txt), in .venv-lowest:"
	@echo "            the demo book with -W, then the tests of what differs between versions (LOWEST_TESTS=tests: all)"
	@echo "make unit   run the fast unit tests only"
	@echo "make bench  execbook against MyST-NB and plain Sphinx on a generated book"
	@echo "make dist   execbook's sdist and wheel into dist/ (pip install dist/execbook-*.whl)"
	@echo "make clean  remove $(BUILDDIR)"

$(BIN)/.book-stamp: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.test-stamp: $(BIN)/.book-stamp
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

html: $(BIN)/.book-stamp
	$(BIN)/execbook build html $(SPHINXOPTS)

check-links: $(BIN)/.book-stamp
	$(BIN)/execbook check-links $(BUILDDIR)/html

serve: $(BIN)/.book-stamp
	$(BIN)/execbook serve

pdf: $(BIN)/.book-stamp
	$(BIN)/execbook build pdf

notebooks: $(BIN)/.book-stamp
	$(BIN)/execbook build notebooks

slides: $(BIN)/.book-stamp
	$(BIN)/execbook build slides

lib: $(BIN)/.book-stamp
	$(BIN)/execbook build lib

lint: $(BIN)/.test-stamp
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

# two workers (pytest-xdist): kernels mostly wait, so two share two cores well; each
# module runs in one worker, the demo book's readers in one (tests/conftest.py)
test: lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# The floors of pyproject.toml, tested: the latest patch of each floor's series (constraints/lowest.txt)
# in a venv of its own; the demo book is copied out so its build does not touch $(BUILDDIR)/html.
LOWEST_VENV := .venv-lowest
LOWEST_BIN  := $(LOWEST_VENV)/bin
LOWEST_BOOK := $(BUILDDIR)/lowest/book

$(LOWEST_BIN)/.test-stamp: requirements.txt pyproject.toml constraints/lowest.txt
	test -x $(LOWEST_BIN)/python || $(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_BIN)/python -m pip install --quiet -c constraints/lowest.txt -r requirements.txt
	$(LOWEST_BIN)/python -m pip install --quiet -c constraints/lowest.txt -e '.[testing]'
	touch $@

# CI runs a subset: the demo book with -W, then the tests of what differs between versions
# (HTML of pages, tabs, references, doctrees, paths outside the book, html_baseurl's extensions, the speed-ups' shape
# checks, the feature checks, the floors file, the notebooks and slides builds, serve, -W, a part without its
# bibliography): 4-5 min here. The whole Sphinx-level suite on the floors takes ~11 min on 2 cores:
# make test-lowest LOWEST_TESTS=tests PYTEST_ARGS="-n 2 --dist loadgroup"
LOWEST_TESTS ?= tests/test_build.py tests/test_tabs.py tests/test_references.py tests/test_doctrees.py \
	tests/test_outside.py tests/test_host.py tests/test_no_patches.py tests/test_versions.py tests/test_floors.py \
	tests/test_export.py tests/test_slides.py tests/test_serve.py tests/test_strict.py tests/test_tab_subset.py

test-lowest: $(LOWEST_BIN)/.test-stamp
	$(LOWEST_BIN)/python -m pip list --format=freeze | grep -i -E '^(sphinx|docutils|myst-parser|myst-nb|pydata-sphinx-theme|sphinxcontrib-bibtex)=='
	rm -rf $(LOWEST_BOOK) && mkdir -p $(LOWEST_BOOK)
	cp -r conf.py index.md chapters _static _templates references.bib requirements.txt benchmarks $(LOWEST_BOOK)/
	$(LOWEST_BIN)/execbook build html --book $(LOWEST_BOOK) -W --keep-going -q
	$(LOWEST_BIN)/python -m pytest -m "not browser and not pdf and not wheel" -p no:cacheprovider $(PYTEST_ARGS) $(LOWEST_TESTS)

unit: $(BIN)/.test-stamp
	$(BIN)/python -m pytest -m "not sphinx and not kernels and not browser and not pdf and not wheel" $(PYTEST_ARGS)

# d2l-book 1.0.3 in a venv of its own (its Sphinx 5 must not meet ours); the bench skips it, saying why, if this fails
D2LBOOK_VENV := $(BUILDDIR)/bench/d2lbook-venv

bench: $(BIN)/.test-stamp
	test -x $(D2LBOOK_VENV)/bin/d2lbook || ($(PYTHON) -m venv $(D2LBOOK_VENV) && $(D2LBOOK_VENV)/bin/pip install --quiet \
	    d2lbook==1.0.3 pybtex==0.24.0 "setuptools<81") || echo "make bench: d2l-book could not be installed"
	$(BIN)/python benchmarks/bench.py --json $(BUILDDIR)/bench.json --d2lbook-venv $(D2LBOOK_VENV)

# only the build frontend: the wheel is built in an isolated env, without the book's requirements
$(BIN)/.dist-stamp:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet build
	touch $@

dist: $(BIN)/.dist-stamp
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(BUILDDIR)
