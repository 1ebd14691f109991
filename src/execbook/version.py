"""execbook's version: one place, importable from every stage without importing Sphinx."""

__version__ = "0.1.0"
