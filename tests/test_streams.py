"""Stream outputs: carriage returns, the size limit, stdout before stderr (pure)."""

from __future__ import annotations

import hashlib
import json
import re

from hypothesis import given
from hypothesis import strategies as st

from execbook.execute.jobs import ExecOptions, job_key
from execbook.execute.streams import StreamBuffer, collapse_carriage_returns, order_streams

# nbclient's own rule, quadratic on long lines: ours must give the same text
NBCLIENT_CARRIAGE_RETURN = re.compile(r".*\r(?=[^\n])")


@given(st.text(alphabet="ab\r\n", max_size=40))
def test_carriage_returns_collapse_as_nbclient_collapses_them(text: str) -> None:
    assert collapse_carriage_returns(text) == NBCLIENT_CARRIAGE_RETURN.sub("", text)


def test_carriage_returns_cases() -> None:
    assert collapse_carriage_returns("10%\r50%\r100%\n") == "100%\n"
    assert collapse_carriage_returns("a\rb\nc\rd") == "b\nd"
    assert collapse_carriage_returns("kept\r") == "kept\r"  # nothing after it yet
    assert collapse_carriage_returns("a\r\nb") == "a\r\nb"  # Windows line end


def test_one_long_line_is_linear() -> None:
    """Ten million characters on one line: nbclient's regex never finishes this."""
    text = "x" * 10_000_000 + "\ry"
    assert collapse_carriage_returns(text) == "y"


def buffer_of(chunks: list[str], limit: int) -> StreamBuffer:
    buffer = StreamBuffer(limit)
    for chunk in chunks:
        buffer.add(chunk)
    return buffer


@given(st.lists(st.text(alphabet="ab\r\n", max_size=30), max_size=30))
def test_a_buffer_under_its_limit_equals_the_whole_text_collapsed(chunks: list[str]) -> None:
    assert buffer_of(chunks, limit=10_000).text == collapse_carriage_returns("".join(chunks))


@given(st.lists(st.text(alphabet="ab\r\n", max_size=30), max_size=30), st.integers(min_value=5, max_value=60))
def test_a_buffer_keeps_a_prefix_of_the_collapsed_text(chunks: list[str], limit: int) -> None:
    buffer = buffer_of(chunks, limit)
    text = buffer.text
    kept = text.split("[execbook:")[0].rstrip("\n") if buffer.dropped else text
    assert len(kept) <= limit
    if not buffer.dropped:
        assert text == collapse_carriage_returns("".join(chunks))


def test_past_the_limit_the_rest_is_counted_and_named() -> None:
    buffer = buffer_of(["line\n"] * 10_000, limit=1000)  # 50,000 characters
    assert buffer.text.startswith("line\n" * 200)
    assert buffer.text.endswith(
        "[execbook: 49,000 more characters not kept: a cell keeps at most 1,000 characters of each stream "
        "(execbook_output_limit)]\n"
    )
    assert len(buffer.chunks[0]) == 1000


def test_progress_bars_never_reach_the_limit() -> None:
    buffer = buffer_of([f"\rstep {step}" for step in range(100_000)] + ["\n"], limit=1000)
    assert buffer.text == "step 99999\n"
    assert buffer.dropped == 0


def test_memory_stays_near_the_limit() -> None:
    buffer = StreamBuffer(1000)
    for _ in range(10_000):
        buffer.add("x" * 100)
        assert buffer.size <= 2 * 1000 + 100


def stream(name: str, text: str = "") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def test_stdout_comes_before_stderr_where_they_meet() -> None:
    image = {"output_type": "display_data", "data": {}}
    assert order_streams([stream("stderr"), stream("stdout")]) == [stream("stdout"), stream("stderr")]
    assert order_streams([stream("stderr"), image, stream("stdout")]) == [stream("stderr"), image, stream("stdout")]


def test_the_output_limit_is_in_the_cache_key_only_when_set() -> None:
    default = job_key("python3", ["print(1)"], ExecOptions(), "")
    before_the_option = {  # the key's payload as it was before execbook_output_limit existed
        "v": 1,
        "kernel": "python3",
        "options": {"timeout": 1200, "allow_errors": True},
        "cells": ["print(1)"],
        "workdir": "",
        "extra": "",
    }
    assert default == hashlib.sha256(json.dumps(before_the_option, sort_keys=True).encode()).hexdigest()
    assert job_key("python3", ["print(1)"], ExecOptions(output_limit=10), "") != default
