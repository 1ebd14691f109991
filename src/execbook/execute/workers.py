"""Which workers a build gets: one per GPU, or a share of the CPU cores."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


@dataclass(frozen=True)
class WorkerSpec:
    name: str
    env: dict[str, str] = field(default_factory=dict)
    gpu: str | None = None


def detect_gpus() -> list[str]:
    """GPU ids visible to this process: CUDA_VISIBLE_DEVICES if set, else nvidia-smi."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [gpu.strip() for gpu in visible.split(",") if gpu.strip() and gpu.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(line for line in listing.splitlines() if line.startswith("GPU "))]


def plan_workers(
    setting: int | list | str, cores: int | None = None, gpus: list[str] | None = None
) -> list[WorkerSpec]:
    """``execbook_workers``: "auto", a count, or a list of GPU ids.

    With GPUs each worker owns one (CUDA_VISIBLE_DEVICES); without, workers
    share the cores and each kernel's BLAS/OpenMP threads are capped to its
    share, so parallel kernels do not fight over the same cores.
    """
    cores = cores or os.cpu_count() or 1
    gpus = detect_gpus() if gpus is None else gpus
    if isinstance(setting, list):
        return [WorkerSpec(f"gpu{gpu}", {"CUDA_VISIBLE_DEVICES": str(gpu)}, str(gpu)) for gpu in setting]
    if gpus and setting == "auto":
        return [WorkerSpec(f"gpu{gpu}", {"CUDA_VISIBLE_DEVICES": gpu}, gpu) for gpu in gpus]
    count = cores if setting == "auto" else max(1, int(setting))
    if gpus:
        return [
            WorkerSpec(
                f"gpu{gpus[i % len(gpus)]}-{i}", {"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)]}, gpus[i % len(gpus)]
            )
            for i in range(count)
        ]
    threads = str(max(1, cores // count))
    env = {name: threads for name in THREAD_VARIABLES}
    env["CUDA_VISIBLE_DEVICES"] = ""  # a CPU worker never grabs a GPU by accident
    return [WorkerSpec(f"cpu{i}", env) for i in range(count)]
