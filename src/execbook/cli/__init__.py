"""The ``execbook`` command."""
