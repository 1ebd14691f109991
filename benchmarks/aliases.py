"""What rewriting library aliases in shown code costs, against parsing the page.

A page of 60 code cells, each calling the library through aliases (nested
fluent calls included), with alias maps the size of a large d2l book's
PyTorch section. Prints the time to parse the page (the baseline every build
pays for a changed page) and the time to rewrite every cell, and their ratio.

    python benchmarks/aliases.py
"""

from __future__ import annotations

import time

from execbook.source.aliases import Aliases
from execbook.source.syntax import parse

MAPS = {
    "lib_name": "torch",
    "simple": "ones_like, ones, zeros_like, zeros, tensor, arange, meshgrid, sin, sinh, cos, cosh, tanh, linspace, "
    "exp(, log, normal, rand, randn, matmul, int32, int64, float32, concat -> cat, stack, abs, eye, sigmoid, "
    "batch_matmul -> bmm",
    "fluent": "numpy -> detach().numpy, size -> numel, reshape, to, reduce_sum -> sum, argmax, astype -> type, "
    "transpose -> t, reduce_mean -> mean, expand_dims -> unsqueeze, swapaxes, repeat",
    "alias": "nn_Module = nn.Module",
    "reverse": "d2l.nn_Module -> nn.Module",
}

CELL = """```{{.python .input}}
%%tab pytorch
X{i} = d2l.reshape(d2l.arange(12, dtype=d2l.float32), (3, 4))
Y{i} = d2l.concat([X{i}, d2l.ones_like(X{i})], 0)
print(d2l.reduce_sum(d2l.exp(Y{i}), axis=1), d2l.numpy(d2l.reshape(Y{i}, (-1,))))
class Net{i}(d2l.nn_Module):
    def forward(self, X):
        return d2l.matmul(X, d2l.transpose(X))
```

Some prose between the cells, with a reference to :numref:`sec_{i}`.
"""


def main() -> None:
    tabs = ("pytorch", "numpy")
    page = "# A long page\n:label:`sec_page`\n\n" + "\n".join(CELL.format(i=i) for i in range(60))
    aliases = Aliases.from_option(MAPS)
    rounds = 20
    start = time.perf_counter()
    for _ in range(rounds):
        doc = parse(page, tabs)
    parsed = (time.perf_counter() - start) / rounds
    sources = [cell.code_for("pytorch") for cell in doc.cells if hasattr(cell, "code_for")]
    start = time.perf_counter()
    for _ in range(rounds):
        shown = [aliases.shown(source, "d2l") for source in sources]
    rewritten = (time.perf_counter() - start) / rounds
    assert all("d2l.reshape" not in code for code in shown)
    print(f"page of {len(sources)} code cells, {rounds} rounds")
    print(f"parse the page:           {parsed * 1000:7.1f} ms")
    print(f"rewrite aliases, all cells: {rewritten * 1000:5.1f} ms ({rewritten / len(sources) * 1000:.2f} ms a cell)")
    print(f"ratio rewrite / parse:    {rewritten / parsed:7.2f}")


if __name__ == "__main__":
    main()
