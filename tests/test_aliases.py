"""Library aliases: what is appended to the library, and the code readers see."""

from __future__ import annotations

import pytest

from execbook.source.aliases import ALIAS_BANNER, AliasError, Aliases, parse_mapping

TORCH = Aliases.from_option(
    {
        "lib_name": "torch",
        "simple": "ones_like, ones, exp(, concat -> cat,\n normal -> randn",
        "fluent": "numpy -> detach().numpy, size -> numel, reshape,\n reduce_sum -> sum",
        "args": "full(a_shape, a_value, dtype=None) -> torch.full(a_shape, a_value, dtype=dtype)",
        "alias": "  nn_Module = nn.Module\n  transpose = lambda a: a.T",
        "reverse": "d2l.nn_Module -> nn.Module\nd2l.transpose\\(([\\w]+)\\) -> \\1.T",
    }
)


def test_parse_mapping_splits_commas_and_lines() -> None:
    assert parse_mapping("numpy -> asnumpy, reshape\n  to -> as_in_context,") == [
        ("numpy", "asnumpy"),
        ("reshape", "reshape"),
        ("to", "as_in_context"),
    ]
    assert parse_mapping("d2l.size\\(([\\w,]+)\\) -> \\1.size", split_commas=False) == [
        ("d2l.size\\(([\\w,]+)\\)", "\\1.size")
    ]


def test_library_text_is_d2l_books_alias_block() -> None:
    assert (
        TORCH.library_text()
        == "\n".join(
            [
                ALIAS_BANNER,
                "nn_Module = nn.Module",
                "transpose = lambda a: a.T",
                "ones_like = torch.ones_like",
                "ones = torch.ones",
                "exp = torch.exp",
                "concat = torch.cat",
                "normal = torch.randn",
                "numpy = lambda x, *args, **kwargs: x.detach().numpy(*args, **kwargs)",
                "size = lambda x, *args, **kwargs: x.numel(*args, **kwargs)",
                "reshape = lambda x, *args, **kwargs: x.reshape(*args, **kwargs)",
                "reduce_sum = lambda x, *args, **kwargs: x.sum(*args, **kwargs)",
                "def full(a_shape, a_value, dtype=None):",
                "    return torch.full(a_shape, a_value, dtype=dtype)",
            ]
        )
        + "\n"
    )


def test_the_alias_block_runs() -> None:
    numpy_aliases = Aliases.from_option(
        {"lib_name": "np", "simple": "ones, concat -> concatenate", "fluent": "reshape"}
    )
    namespace = {"np": pytest.importorskip("numpy")}
    exec(numpy_aliases.library_text(), namespace)
    assert namespace["reshape"](namespace["ones"](6), (2, 3)).shape == (2, 3)
    assert namespace["concat"]([namespace["ones"](2), namespace["ones"](1)]).shape == (3,)


CASES = [
    ("simple name", "Y = d2l.ones((2, 3))", "Y = torch.ones((2, 3))"),
    ("simple renamed", "d2l.concat([X, Y], dim=0)", "torch.cat([X, Y], dim=0)"),
    ("a longer name is not a shorter alias", "d2l.ones_like(X) + d2l.ones(2)", "torch.ones_like(X) + torch.ones(2)"),
    (
        "trailing ( rewrites calls only",
        "d2l.exp(X); d2l.expand_dims(X, 0); f = d2l.exp",
        "torch.exp(X); d2l.expand_dims(X, 0); f = d2l.exp",
    ),
    ("simple alias used as a value", "f = d2l.normal", "f = torch.randn"),
    ("not another object's attribute", "self.d2l.ones(3)", "self.d2l.ones(3)"),
    ("fluent", "d2l.numpy(X)", "X.detach().numpy()"),
    ("fluent with arguments and keywords", "d2l.reduce_sum(X, axis=1, keepdims=True)", "X.sum(axis=1, keepdims=True)"),
    ("fluent nested", "d2l.reshape(d2l.reshape(X, (3, 2)), (-1,))", "X.reshape((3, 2)).reshape((-1,))"),
    ("fluent receiver parenthesized", "d2l.reshape(X + 1, (3, 2))", "(X + 1).reshape((3, 2))"),
    ("fluent receiver a number", "d2l.size(3)", "(3).numel()"),
    ("fluent after simple", "d2l.reshape(d2l.ones(6), (2, 3))", "torch.ones(6).reshape((2, 3))"),
    ("fluent without arguments stays", "d2l.numpy()", "d2l.numpy()"),
    ("fluent on several lines", "d2l.reshape(\n    X,\n    (2, 3))", "X.reshape((2, 3))"),
    ("args, a keyword left out", "d2l.full((2,), 7)", "torch.full((2,), 7)"),
    (
        "args by keyword",
        "d2l.full((2,), a_value=X + 1, dtype=torch.int32)",
        "torch.full((2,), X + 1, dtype=torch.int32)",
    ),
    ("args that do not fit stay", "d2l.full(*shape_and_value)", "d2l.full(*shape_and_value)"),
    ("reverse regex with a group", "Y = d2l.transpose(X)", "Y = X.T"),
    ("reverse plain", "class Net(d2l.nn_Module):\n    pass", "class Net(nn.Module):\n    pass"),
    ("other library names stay", "d2l.plot(d2l.ones(3))", "d2l.plot(torch.ones(3))"),
    ("a magic line keeps its place", "%matplotlib inline\nd2l.numpy(X)", "%matplotlib inline\nX.detach().numpy()"),
    ("code that does not parse keeps its fluent calls", "d2l.numpy(X) +", "d2l.numpy(X) +"),
    ("non-ASCII before the call", "s = 'é'; d2l.numpy(X)", "s = 'é'; X.detach().numpy()"),
]


@pytest.mark.parametrize(("title", "source", "shown"), CASES, ids=[case[0] for case in CASES])
def test_shown_code(title: str, source: str, shown: str) -> None:
    assert TORCH.shown(source, "d2l") == shown


MATH = Aliases.from_option(
    {
        "lib_name": "torch",
        "fluent": "reshape, numel",
        "args": "\n".join(
            [
                "square(x) -> x ** 2",
                "mul(a, b) -> a * b",
                "recip(x) -> 1 / x",
                "neg(x) -> -x",
                "count(x) -> x.numel()",
                "zeros(shape, dtype=torch.int32) -> torch.zeros(shape, dtype=dtype)",
                "pair(a, b) -> a, b",
            ]
        ),
    }
)

PRECEDENCE = [
    ("a negative number raised", "d2l.square(-1)", "(-1) ** 2"),
    ("a product divided into", "y = 1 / d2l.mul(a, b)", "y = 1 / (a * b)"),
    ("a product as a whole value", "y = d2l.mul(a, b)", "y = a * b"),
    ("a product as an argument", "f(d2l.mul(a, b))", "f(a * b)"),
    ("nested results", "d2l.recip(d2l.mul(a, b))", "1 / (a * b)"),
    ("a negation as a receiver", "d2l.reshape(d2l.neg(x), 2)", "(-x).reshape(2)"),
    ("a number as a method's receiver", "d2l.count(3)", "(3).numel()"),
    ("a negative number as a receiver", "d2l.count(-1)", "(-1).numel()"),
    ("a string receiver stays bare", "d2l.count('ab')", "'ab'.numel()"),
    ("a tuple result as an argument", "f(d2l.pair(a, b))", "f((a, b))"),
    ("a default that is not None is kept", "d2l.zeros((2,))", "torch.zeros((2,), dtype=torch.int32)"),
    ("a sum as an operand of a fluent call", "d2l.numel(a + b) * 2", "(a + b).numel() * 2"),
]


@pytest.mark.parametrize(("title", "source", "shown"), PRECEDENCE, ids=[case[0] for case in PRECEDENCE])
def test_shown_code_keeps_its_meaning(title: str, source: str, shown: str) -> None:
    assert MATH.shown(source, "d2l") == shown


def test_raw_aliases_keep_their_indentation() -> None:
    aliases = Aliases.from_option({"alias": "\n    def size(a):\n        return a.numel()\n"})
    assert aliases.library_text().splitlines()[1:] == ["def size(a):", "    return a.numel()"]


def test_args_alias_drops_nothing_it_cannot_fill() -> None:
    ones = Aliases.from_option({"args": "zeros(a_shape) -> torch.zeros(*a_shape)"})
    assert ones.shown("d2l.zeros(s)", "d2l") == "torch.zeros(*s)"
    assert ones.shown("d2l.zeros(s, t)", "d2l") == "d2l.zeros(s, t)"


@pytest.mark.parametrize(
    ("maps", "entry"),
    [
        ({"simple": "ones"}, "lib_name"),
        ({"lib_name": "torch", "simple": "two words"}, "two words"),
        ({"reverse": "d2l.size\\(( -> x"}, "d2l.size\\(("),
        ({"args": "full -> torch.full"}, "full"),
        ({"args": "full(a) -> torch.full(a"}, "torch.full(a"),
        ({"alias": "size = lambda a:"}, "size = lambda a:"),
        ({"colour": "x"}, "colour"),
        ({"lib_name": "torch two", "simple": "ones"}, "torch two"),
        ({"lib_name": "torch", "simple": "concat -> cat dim"}, "cat dim"),
        ({"lib_name": "torch", "fluent": "numpy -> detach().numpy()"}, "detach().numpy()"),
    ],
)
def test_bad_entries_are_named(maps: dict, entry: str) -> None:
    with pytest.raises(AliasError) as error:
        Aliases.from_option(maps)
    assert error.value.entry == entry
