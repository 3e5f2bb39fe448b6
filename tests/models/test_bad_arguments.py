"""Random bad arguments to every model (issue 12): a clear TypeError/ValueError, no change.

* Constructors: every size argument of every public model, given a random bad value
  (0, negative, float, str, bool, a list with one bad entry or of the wrong length, a
  bad convolution pair), raises TypeError/ValueError naming the argument, *before*
  anything random is drawn (the torch RNG state is unchanged) and without touching an
  existing model (same output, same state_dict).
* ``canonicalize`` with a bad ``rank``/``cum_percentage``/``cutoff``/``oc``/``mode``
  raises and leaves the model's output and state_dict as they were.
* ``forward`` with bad data (wrong number of features, wrong feature size, wrong rank,
  a non-tensor, a list of the wrong length or with a bad element): good forward, bad
  forward (raises), good forward again gives the same output and state_dict, traced or
  not.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import torchtn as tk
from torchtn.models import (
    MPO,
    MPS,
    PEPS,
    UMPO,
    UMPS,
    UPEPS,
    ConvMPS,
    ConvMPSLayer,
    ConvPEPS,
    ConvTree,
    ConvUMPS,
    ConvUMPSLayer,
    ConvUPEPS,
    ConvUTree,
    MPSData,
    MPSLayer,
    Tree,
    UMPSLayer,
    UTree,
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DT = torch.float64

# -- constructors ----------------------------------------------------------------------------
# Argument kinds: ("size",) an int >= 1; ("count",) an int >= 0; ("sizes", n) an int >= 1
# or a list/tuple of n of them; ("pair", minimum) a conv int or pair; ("shape",) a list
# of >= 2 sizes; ("shapes", n) a list of n shapes; ("bond2",) a list of 2 sizes;
# ("features", n) a list of site indices in [0, n); ("position", n) an int in [0, n).
CONV = {
    "kernel_size": ("pair", 1),
    "stride": ("pair", 1),
    "padding": ("pair", 0),
    "dilation": ("pair", 1),
}
CASES: list[tuple[type, dict, dict]] = [
    (
        MPS,
        dict(n_features=4, phys_dim=2, bond_dim=3),
        dict(
            n_features=("size",),
            phys_dim=("sizes", 4),
            bond_dim=("sizes", 3),
            n_batches=("count",),
            in_features=("features", 4),
        ),
    ),
    (
        MPS,
        dict(n_features=4, phys_dim=2, bond_dim=3, boundary="pbc"),
        dict(bond_dim=("sizes", 4)),
    ),
    (
        UMPS,
        dict(n_features=4, phys_dim=2, bond_dim=3),
        dict(n_features=("size",), phys_dim=("size",), bond_dim=("size",), n_batches=("count",)),
    ),
    (
        MPSLayer,
        dict(n_features=5, in_dim=2, out_dim=3, bond_dim=3),
        dict(
            n_features=("size",),
            in_dim=("sizes", 4),
            out_dim=("size",),
            bond_dim=("sizes", 4),
            out_position=("position", 5),
            n_batches=("count",),
        ),
    ),
    (
        UMPSLayer,
        dict(n_features=5, in_dim=2, out_dim=3, bond_dim=3),
        dict(
            n_features=("size",),
            in_dim=("size",),
            out_dim=("size",),
            bond_dim=("size",),
            out_position=("position", 5),
            n_batches=("count",),
        ),
    ),
    (
        ConvMPS,
        dict(in_channels=2, bond_dim=3, kernel_size=2),
        dict(in_channels=("size",), bond_dim=("sizes", 3), **CONV),
    ),
    (
        ConvUMPS,
        dict(in_channels=2, bond_dim=3, kernel_size=2),
        dict(in_channels=("size",), bond_dim=("size",), **CONV),
    ),
    (
        ConvMPSLayer,
        dict(in_channels=2, out_channels=3, bond_dim=3, kernel_size=2),
        dict(in_channels=("size",), out_channels=("size",), bond_dim=("sizes", 4), **CONV),
    ),
    (
        ConvUMPSLayer,
        dict(in_channels=2, out_channels=3, bond_dim=3, kernel_size=2),
        dict(in_channels=("size",), out_channels=("size",), bond_dim=("size",), **CONV),
    ),
    (
        MPSData,
        dict(n_features=4, phys_dim=2, bond_dim=3),
        dict(
            n_features=("size",),
            phys_dim=("sizes", 4),
            bond_dim=("sizes", 3),
            n_batches=("count",),
        ),
    ),
    (
        MPO,
        dict(n_features=4, in_dim=2, out_dim=3, bond_dim=3),
        dict(
            n_features=("size",),
            in_dim=("sizes", 4),
            out_dim=("sizes", 4),
            bond_dim=("sizes", 3),
            n_batches=("count",),
        ),
    ),
    (
        UMPO,
        dict(n_features=4, in_dim=2, out_dim=3, bond_dim=3),
        dict(
            n_features=("size",),
            in_dim=("size",),
            out_dim=("size",),
            bond_dim=("size",),
            n_batches=("count",),
        ),
    ),
    (
        PEPS,
        dict(n_rows=3, n_cols=2, in_dim=2, bond_dim=[2, 3]),
        dict(in_dim=("size",), bond_dim=("bond2",), n_batches=("count",)),
    ),
    (
        UPEPS,
        dict(n_rows=3, n_cols=2, in_dim=2, bond_dim=[2, 3]),
        dict(n_rows=("size",), n_cols=("size",), in_dim=("size",), bond_dim=("bond2",)),
    ),
    (
        ConvPEPS,
        dict(in_channels=2, bond_dim=[2, 2], kernel_size=2),
        dict(in_channels=("size",), bond_dim=("bond2",), **CONV),
    ),
    (
        ConvUPEPS,
        dict(in_channels=2, bond_dim=[2, 2], kernel_size=2),
        dict(in_channels=("size",), bond_dim=("bond2",), **CONV),
    ),
    (
        Tree,
        dict(sites_per_layer=[2, 1], bond_dim=[[2, 2, 3], [3, 3, 2]]),
        dict(bond_dim=("shapes", 2), n_batches=("count",)),
    ),
    (
        UTree,
        dict(sites_per_layer=[2, 1], bond_dim=[2, 2, 2]),
        dict(bond_dim=("shape",), n_batches=("count",)),
    ),
    (
        ConvTree,
        dict(sites_per_layer=[2, 1], bond_dim=[[2, 2, 3], [3, 3, 2]], kernel_size=2),
        dict(bond_dim=("shapes", 2), **CONV),
    ),
    (
        ConvUTree,
        dict(sites_per_layer=[2, 1], bond_dim=[2, 2, 2], kernel_size=2),
        dict(bond_dim=("shape",), **CONV),
    ),
]

NOT_INT = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=3),
    st.booleans(),
    st.just(object()),
)


def _bad_int(minimum: int) -> st.SearchStrategy:
    return st.one_of(st.integers(max_value=minimum - 1), NOT_INT)


def _bad_list(length: int, minimum: int, draw: Any) -> list:
    """A list of ``length`` good values with one bad entry, or a list of another length."""
    if draw(st.booleans()):
        other = draw(st.integers(0, length + 3).filter(lambda k: k != length))
        return [2] * other
    values = [2] * length
    values[draw(st.integers(0, length - 1))] = draw(_bad_int(minimum))
    return values


@st.composite
def bad_value(draw: Any, kind: tuple) -> Any:
    name = kind[0]
    if name == "size":
        return draw(st.one_of(_bad_int(1), st.just([2])))
    if name == "count":
        return draw(_bad_int(0))
    if name == "sizes":
        return draw(_bad_int(1)) if draw(st.booleans()) else _bad_list(kind[1], 1, draw)
    if name == "pair":
        if draw(st.booleans()):
            return draw(_bad_int(kind[1]))
        pair = _bad_list(2, kind[1], draw)
        return tuple(pair) if draw(st.booleans()) else pair
    if name == "bond2":
        return 2 if draw(st.booleans()) else _bad_list(2, 1, draw)
    if name == "shape":
        if draw(st.booleans()):
            return draw(st.sampled_from([[2], [], 2, "222"]))
        shape = [2, 2, 2]
        shape[draw(st.integers(0, 2))] = draw(_bad_int(1))
        return shape
    if name == "shapes":
        shapes = [[2, 2, 3], [3, 3, 2]]
        i = draw(st.integers(0, kind[1] - 1))
        j = draw(st.integers(0, 2))
        shapes[i] = list(shapes[i])
        shapes[i][j] = draw(_bad_int(1))
        return shapes
    if name == "features":
        n = kind[1]
        bad = draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=n), NOT_INT))
        return [0, bad]
    if name == "position":
        n = kind[1]
        return draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=n), NOT_INT))
    raise AssertionError(kind)


@st.composite
def bad_constructor(draw: Any) -> tuple[type, dict, str]:
    cls, good, kinds = draw(st.sampled_from(CASES))
    arg = draw(st.sampled_from(sorted(kinds)))
    kwargs = dict(good)
    kwargs[arg] = draw(bad_value(kinds[arg]))
    return cls, kwargs, arg


_REFERENCE: list = []


def _reference() -> tuple[MPSLayer, torch.Tensor]:
    """One existing model (shared by the examples: failed constructions never touch it)."""
    if not _REFERENCE:
        gen = torch.Generator().manual_seed(0)
        model = MPSLayer(n_features=5, in_dim=2, out_dim=3, bond_dim=3, dtype=DT)
        _REFERENCE.append((model, torch.rand(4, 4, 2, dtype=DT, generator=gen)))
    return _REFERENCE[0]


def _snapshot(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same_state(model: torch.nn.Module, before: dict) -> None:
    after = model.state_dict()
    assert list(after) == list(before)
    for key, value in before.items():
        assert torch.equal(after[key], value), key


@pytest.mark.parametrize(("cls", "good", "kinds"), CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_good_arguments_build(cls, good, kinds):
    # The base arguments of the table are valid (so a failure below is the bad argument's).
    cls(**good)


@SETTINGS
@given(case=bad_constructor())
def test_bad_constructor_argument_raises_and_changes_nothing(case):
    cls, kwargs, arg = case
    model, x = _reference()
    out, state = model(x), _snapshot(model)
    rng = torch.random.get_rng_state()
    with pytest.raises((TypeError, ValueError)) as info:
        cls(**kwargs)
    assert arg in str(info.value), (cls.__name__, kwargs, str(info.value))
    assert isinstance(info.value, tk.TNError), type(info.value)
    # Validated up front: nothing was drawn before the error.
    assert torch.equal(torch.random.get_rng_state(), rng)
    # The same model on the same input through the same kernels: identical, bit for bit.
    torch.testing.assert_close(model(x), out, rtol=0, atol=0)
    _assert_same_state(model, state)


@pytest.mark.parametrize(
    ("cls", "kwargs", "exc", "match"),
    [
        (MPSLayer, dict(n_features=5, in_dim=2, out_dim=3, bond_dim=0), ValueError, "bond_dim"),
        (MPSLayer, dict(n_features=5, in_dim=2, out_dim=3, bond_dim=-3), ValueError, "bond_dim"),
        (MPSLayer, dict(n_features=5, in_dim=-1, out_dim=3, bond_dim=3), ValueError, "in_dim"),
        (MPSLayer, dict(n_features=5, in_dim=0, out_dim=3, bond_dim=3), ValueError, "in_dim"),
        (
            MPSLayer,
            dict(n_features=5, in_dim=[2, 2, 0, 2], out_dim=3, bond_dim=3),
            ValueError,
            r"in_dim\[2\]",
        ),
        (MPSLayer, dict(n_features=5, in_dim=2, out_dim=3, bond_dim=2.0), TypeError, "bond_dim"),
        (MPS, dict(n_features=3, phys_dim=2, bond_dim=[2, "3"]), TypeError, r"bond_dim\[1\]"),
        (MPS, dict(n_features=3, phys_dim=2, bond_dim=2, n_batches=-1), ValueError, "n_batches"),
        (MPO, dict(n_features=3, in_dim=2, out_dim=0, bond_dim=2), ValueError, "out_dim"),
        (ConvMPS, dict(in_channels=2, bond_dim=2, kernel_size=(2, 0)), ValueError, "kernel_size"),
        (ConvMPS, dict(in_channels=2, bond_dim=2, kernel_size=2, stride=0), ValueError, "stride"),
        (ConvMPS, dict(in_channels=2, bond_dim=2, kernel_size=2, padding=-1), ValueError, "padd"),
        (ConvMPS, dict(in_channels=[2] * 4, bond_dim=2, kernel_size=2), TypeError, "in_channels"),
        (PEPS, dict(n_rows=2, n_cols=2, in_dim=2, bond_dim=[2, 0]), ValueError, r"bond_dim\[1\]"),
        (Tree, dict(sites_per_layer=[2, 1], bond_dim=[[2, 0, 3], [3, 3, 2]]), ValueError, "bond"),
        (
            ConvTree,
            dict(sites_per_layer=[2, 1], bond_dim=[[2, 2, 3], [3, 3, 2]], kernel_size=3),
            ValueError,
            "kernel_size",
        ),
        (MPS, dict(tensors=[torch.randn(2, 0), torch.randn(0, 2)]), ValueError, r"tensors\[0\]"),
        (UMPS, dict(n_features=3, tensor=torch.randn(0, 2, 0)), ValueError, "`tensor`"),
    ],
)
def test_issue_examples(cls, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cls(**kwargs)


def test_peps_in_dim_type_error_is_also_a_value_error():
    # TK raised ValueError for a non-int PEPS in_dim; torchtn's error is both.
    with pytest.raises(TypeError, match="in_dim"):
        PEPS(2, 2, 2.0, [2, 2])
    with pytest.raises(ValueError, match="in_dim"):
        PEPS(2, 2, 2.0, [2, 2])


def test_legitimate_small_sizes_still_build():
    # What TK accepts legitimately stays accepted: size-1 dims, one site, no batch axis.
    MPS(n_features=1, phys_dim=1, bond_dim=[])
    MPS(n_features=3, phys_dim=1, bond_dim=1, n_batches=0)
    MPSLayer(n_features=1, out_dim=2, bond_dim=[])
    MPSLayer(n_features=2, in_dim=[1], out_dim=1, bond_dim=(1,), out_position=0)
    ConvMPS(in_channels=1, bond_dim=1, kernel_size=[1, 1], padding=0)
    UPEPS(1, 1, 1, [1, 1])
    Tree([1], [[1, 1]])


# -- canonicalize ----------------------------------------------------------------------------
def _chain_models() -> list:
    torch.manual_seed(1)
    return [
        (MPSLayer(n_features=5, in_dim=2, out_dim=3, bond_dim=3, dtype=DT), (4, 4, 2)),
        (MPS(n_features=4, phys_dim=2, bond_dim=3, boundary="pbc", dtype=DT), (4, 4, 2)),
        (MPO(n_features=3, in_dim=2, out_dim=2, bond_dim=3, dtype=DT), (4, 3, 2)),
    ]


BAD_CANONICAL = st.one_of(
    st.builds(lambda v: ("rank", v), st.one_of(st.integers(max_value=0), NOT_INT)),
    st.builds(
        lambda v: ("cum_percentage", v),
        st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True), st.text()),
    ),
    st.builds(
        lambda v: ("cutoff", v), st.one_of(st.floats(max_value=0.0, exclude_max=True), st.text())
    ),
    st.builds(lambda v: ("oc", v), st.one_of(st.integers(max_value=-1), st.integers(10, 99))),
    st.builds(
        lambda v: ("mode", v), st.text(max_size=4).filter(lambda m: m not in ("svd", "svdr", "qr"))
    ),
)


@SETTINGS
@given(bad=BAD_CANONICAL, which=st.integers(0, 2))
def test_bad_canonicalize_argument_raises_and_changes_nothing(bad, which):
    model, shape = _chain_models()[which]
    x = torch.rand(*shape, dtype=DT)
    out, state = model(x), _snapshot(model)
    name, value = bad
    with pytest.raises((TypeError, ValueError)) as info:
        model.canonicalize(**{name: value})
    assert name in str(info.value)
    _assert_same_state(model, state)
    torch.testing.assert_close(model(x), out)


@pytest.mark.parametrize(
    "kwargs", [dict(rank=0), dict(rank=-1), dict(cum_percentage=0), dict(cum_percentage=1.5)]
)
def test_tree_canonicalize_rejects_collapsing_arguments(kwargs):
    tree = Tree([2, 1], [[2, 2, 3], [3, 3, 2]])
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        tree.canonicalize(**kwargs)


# -- forward with bad data --------------------------------------------------------------------
# name: (factory, n_features, feature size); one batch axis each.
DATA_MODELS = {
    "mpslayer": (lambda: MPSLayer(n_features=5, in_dim=2, out_dim=3, bond_dim=3, dtype=DT), 4, 2),
    "umps": (lambda: UMPS(n_features=4, phys_dim=3, bond_dim=2, dtype=DT), 4, 3),
    "mpo": (lambda: MPO(n_features=3, in_dim=2, out_dim=2, bond_dim=2, dtype=DT), 3, 2),
    "peps": (lambda: PEPS(2, 2, 2, [2, 2]), 4, 2),
    "tree": (lambda: Tree([2, 1], [[2, 2, 3], [3, 3, 2]]), 4, 2),
}


@st.composite
def bad_stacked_data(draw: Any, n: int, d: int) -> Any:
    kind = draw(st.sampled_from(["features", "size", "rank", "type", "list"]))
    b = draw(st.integers(1, 3))
    if kind == "features":
        m = draw(st.integers(0, n + 3).filter(lambda k: k != n))
        return torch.rand(b, m, d, dtype=DT)
    if kind == "size":
        f = draw(st.integers(0, d + 3).filter(lambda k: k != d))
        return torch.rand(b, n, f, dtype=DT)
    if kind == "rank":
        extra = draw(st.sampled_from([(), (b, 2)]))
        return torch.rand(*extra, n, d, dtype=DT)
    if kind == "type":
        return draw(st.sampled_from([3, 2.5, "data", object(), [[0.0] * d] * n, {0: 1}]))
    # a list: wrong length, an element of the wrong size / rank / batch, a non-tensor
    elems = [torch.rand(b, d, dtype=DT) for _ in range(n)]
    i = draw(st.integers(0, n - 1))
    fault = draw(st.sampled_from(["length", "size", "rank", "batch", "type"]))
    if fault == "length":
        return elems + [torch.rand(b, d, dtype=DT)] if draw(st.booleans()) else elems[:-1]
    elems[i] = {
        "size": torch.rand(b, d + 1, dtype=DT),
        "rank": torch.rand(d, dtype=DT),
        "batch": torch.rand(b + 1, d, dtype=DT),
        "type": [0.0] * d,
    }[fault]
    return tuple(elems) if draw(st.booleans()) else elems


@pytest.mark.parametrize("traced", [False, True])
@pytest.mark.parametrize("name", ["mpslayer", "umps", "mpo", "peps", "tree"])
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_bad_forward_data_raises_and_changes_nothing(name, traced, data):
    default = torch.get_default_dtype()
    torch.set_default_dtype(DT)
    try:
        factory, n, d = DATA_MODELS[name]
        model = factory()
        x = torch.rand(5, n, d, dtype=DT)
        if traced:
            model.trace(x)
        model(x)
        out, state = model(x), _snapshot(model)
        bad = data.draw(bad_stacked_data(n, d))
        with pytest.raises((TypeError, ValueError)) as info:
            model(bad)
        assert isinstance(info.value, tk.TNError)
        assert "data" in str(info.value)
        _assert_same_state(model, state)
        torch.testing.assert_close(model(x), out)
    finally:
        torch.set_default_dtype(default)


def test_unequal_feature_sizes_need_a_list():
    torch.manual_seed(3)
    model = MPS(n_features=3, phys_dim=[2, 3, 2], bond_dim=2, dtype=DT)
    good = [torch.rand(4, 2, dtype=DT), torch.rand(4, 3, dtype=DT), torch.rand(4, 2, dtype=DT)]
    out = model(good)
    with pytest.raises(ValueError, match=r"different feature sizes \(\[2, 3, 2\]\).*list of 3"):
        model(torch.rand(4, 3, 3, dtype=DT))
    bad = [good[0], torch.rand(4, 4, dtype=DT), good[2]]
    with pytest.raises(ValueError, match=r"`data\[1\]` has size 4 .*'data_1' expects 3"):
        model(bad)
    torch.testing.assert_close(model(good), out)
