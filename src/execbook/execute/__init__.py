"""Execution: pages become per-framework jobs, run on a pool of kernels, cached as files.

``jobs`` (what runs and its cache key) and ``cache`` (where results live) are
pure or file-only; ``kernel`` drives one notebook through nbclient; ``pool``
runs many on workers; ``report`` tells the author what happened; ``sphinx``
wires it all into a build.
"""
