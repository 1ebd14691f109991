"""A cell's stdout and stderr, gathered in linear time and bounded in size.

nbclient's ``coalesce_streams`` runs the regex ``.*\\r(?=[^\\n])`` over the
whole text, which is quadratic on a long line (40 kB took 0.9 s, one million
characters never finished). Here every message is appended to one buffer per
stream, carriage returns are applied with ``str.rfind`` per line, and past
``limit`` characters the rest is counted, not kept, as Jupyter front ends
truncate what they show.
"""

from __future__ import annotations


def collapse_carriage_returns(text: str) -> str:
    """What a terminal shows: on each line, a ``\\r`` followed by more text
    erases what came before it (progress bars). A ``\\r`` that ends a line or
    the text is kept, as nbclient keeps it."""
    if "\r" not in text:
        return text
    lines = text.split("\n")
    for number, line in enumerate(lines):
        last = line.rfind("\r", 0, len(line) - 1)
        if last >= 0:
            lines[number] = line[last + 1 :]
    return "\n".join(lines)


class StreamBuffer:
    """One stream (stdout or stderr) of one cell.

    Chunks are joined and collapsed only when the raw text has grown by
    ``limit`` since the last time, so the work is linear in what the cell
    printed, and memory stays under about twice the limit.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[str] = []
        self.size = 0  # characters in chunks
        self.compacted_size = 0  # size right after the last compaction
        self.dropped = 0  # characters past the limit, not kept

    def add(self, text: str) -> None:
        if self.dropped:
            self.dropped += len(text)
            return
        self.chunks.append(text)
        self.size += len(text)
        if self.size - self.compacted_size > self.limit:
            self._compact()

    def _compact(self) -> None:
        text = collapse_carriage_returns("".join(self.chunks))
        if len(text) > self.limit:
            # cut at a line end when one is near, so the kept part reads well
            cut = text.rfind("\n", self.limit - min(self.limit // 10, 1000), self.limit)
            cut = cut + 1 if cut >= 0 else self.limit
            self.dropped = len(text) - cut
            text = text[:cut]
        self.chunks = [text]
        self.size = self.compacted_size = len(text)

    @property
    def text(self) -> str:
        """The stream as a reader sees it, with a note when it was cut."""
        self._compact()
        text = self.chunks[0]
        if self.dropped:
            separator = "" if text.endswith("\n") or not text else "\n"
            text += (
                f"{separator}[execbook: {self.dropped:,} more characters not kept: a cell keeps at most "
                f"{self.limit:,} characters of each stream (execbook_output_limit)]\n"
            )
        return text


def order_streams(outputs: list) -> list:
    """stdout before stderr when they meet: the two arrive asynchronously, so
    their order says nothing (as nbclient's coalescing does)."""
    outputs = list(outputs)
    for index in range(len(outputs) - 1):
        first, second = outputs[index], outputs[index + 1]
        if (
            first.get("output_type") == "stream"
            and first.get("name") == "stderr"
            and second.get("output_type") == "stream"
            and second.get("name") == "stdout"
        ):
            outputs[index], outputs[index + 1] = second, first
    return outputs
