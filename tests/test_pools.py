"""The pool protocol (issue 17): both pools are one, and naming it imports neither Jupyter nor Dask."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from execbook.execute.cluster import DaskPool
from execbook.execute.pool import LocalPool
from execbook.execute.pools import Pool


def test_both_pools_are_pools(tmp_path: Path) -> None:
    local = LocalPool([], tmp_path, tmp_path / "logs")
    dask = DaskPool("tcp://127.0.0.1:1", tmp_path, tmp_path, shared_fs=True, gpus_per_job=0, limit_mb=1)
    assert isinstance(local, Pool) and isinstance(dask, Pool)
    expected = list(inspect.signature(Pool.run).parameters)
    assert list(inspect.signature(LocalPool.run).parameters) == expected
    assert list(inspect.signature(DaskPool.run).parameters) == expected


def test_the_protocol_is_light() -> None:
    code = (
        "import sys, execbook.execute.pools; "
        "print(sorted(m for m in ('jupyter_client', 'nbclient', 'distributed', 'zmq') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
