"""The benchmarks refuse to report a run in which a job was not ok."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench  # noqa: E402
from guard import broken_jobs, check_run, count_statuses  # noqa: E402


def entry(page: str, tab: str, status: str, cached: bool = False, message: str = "") -> dict:
    return {"page": page, "tab": tab, "status": status, "cached": cached, "message": message}


DEAD = "the kernel 'python3' could not start: RuntimeError: the kernel did not answer within 120 s"
REPORT = {
    "jobs": 4,
    "ran": 3,
    "cached": 1,
    "failed": 1,
    "wall": 130.0,
    "entries": [
        entry("ch00/p001", "numpy", "ok"),
        entry("ch00/p001", "pytorch", "ok"),
        entry("ch00/p002", "numpy", "dead", message=DEAD),
        entry("ch00/p002", "pytorch", "cached", cached=True),
    ],
}


def test_a_dead_job_stops_the_run_and_is_named() -> None:
    assert count_statuses(REPORT) == {"ok": 2, "dead": 1, "cached": 1}
    with pytest.raises(SystemExit) as stopped:
        check_run("cold, 2 worker(s)", REPORT, jobs=4)
    message = str(stopped.value.code)
    assert "cold, 2 worker(s)" in message and "1 dead" in message and "2 ok" in message
    assert f"ch00/p002 (numpy) dead: {DEAD}" in message
    assert "p001" not in message


def test_a_run_where_every_job_is_ok_is_counted() -> None:
    good = {**REPORT, "entries": [e for e in REPORT["entries"] if e["status"] != "dead"]}
    assert check_run("no-op rebuild", good, jobs=3) == {"ok": 2, "cached": 1}


def test_missing_jobs_and_a_missing_report_stop_the_run() -> None:
    with pytest.raises(SystemExit, match="holds 0 jobs, the book has 40"):
        check_run("1 worker(s)", {"entries": []}, jobs=40)


def test_errors_only_where_the_cells_raise_on_purpose() -> None:
    report = {
        "entries": [
            entry("raises", "numpy", "error"),
            entry("other", "numpy", "error"),
            entry("raises", "pytorch", "timeout"),
        ]
    }
    assert broken_jobs(report, raising_pages={"raises"}) == ["other (numpy) error", "raises (pytorch) timeout"]


def test_bench_reads_each_report_through_the_guard(tmp_path: Path) -> None:
    folder = tmp_path / "_build" / "w2-doctrees" / "execbook"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(REPORT), encoding="utf-8")
    with pytest.raises(SystemExit, match=r"ch00/p002 \(numpy\) dead"):
        bench.report(tmp_path, "w2", "no-op rebuild", jobs=4)
