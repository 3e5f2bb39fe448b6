"""Matrix product states: :class:`MPS` (the uniform and layer variants build on it).

The OBC layout follows spec §2.2: every core is rank 3 and padded to the boundary bond,
closed by the trainable ``left_node``/``right_node`` vectors initialised to ``e_0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import torch

import torchtn.ops as op
from torchtn.core import AbstractNode, ParamNode, TensorNetwork
from torchtn.errors import TNValueError
from torchtn.models import _chain, _sweep
from torchtn.models._chain import features_list
from torchtn.models._chain_analysis import ChainAnalysisMixin
from torchtn.models._chain_nodes import attribute, inline_chain, renormalized
from torchtn.models._marginal import MarginalMixin
from torchtn.models._validate import check_n_batches, check_tensor_sizes
from torchtn.utils import split_sequence_into_regions

__all__ = ["MPS"]

_CORE_METHODS = _chain.CORE_METHODS


def _tensor_op(name: str):
    """A node operation from :mod:`torchtn.ops` (``ops.tensor`` until it is re-exported)."""
    fn = getattr(op, name, None)
    if fn is None:
        from torchtn.ops import tensor as _t

        fn = getattr(_t, name)
    return fn


class MPS(ChainAnalysisMixin, MarginalMixin, TensorNetwork):
    """Matrix product state with open (``'obc'``) or periodic (``'pbc'``) boundaries.

    Sites in ``in_features`` receive data; sites in ``out_features`` stay open and form
    the trailing axes of the output.

    Args:
        n_features: Number of sites (ignored when ``tensors`` is given).
        phys_dim: Physical dimension, an int or one per site.
        bond_dim: Bond dimension, an int or ``n-1`` (obc) / ``n`` (pbc) values.
        boundary: ``'obc'`` or ``'pbc'``.
        tensors: User-convention cores (obc: ``(d, D)``, ``(D, d, D')``..., ``(D, d)``;
            pbc: rank 3); they fix every dimension.
        in_features, out_features: Input / output sites (complements of each other).
        n_batches: Number of batch axes of the data.
        init_method: ``'randn'``, ``'rand'``, ``'ones'``, ``'zeros'``, ``'copy'``,
            ``'randn_eye'``, ``'unit'``, ``'canonical'`` or None (tensors left empty).
            For long chains see "Initialising long chains" below.
        device, dtype: Of the generated tensors.
        **kwargs: ``mean``/``std`` (randn, randn_eye) or ``low``/``high`` (rand), floats.

    Every size (``n_features``, ``phys_dim``, ``bond_dim`` and their list entries) must
    be an int >= 1 and ``n_batches`` an int >= 0; anything else raises a TypeError /
    ValueError naming the argument before any tensor is drawn. Data given to ``forward``
    must match the input sites exactly (never cropped).

    Initialising long chains: the default ``init_method='randn'`` (``std=1``, as in
    TensorKrowch) scales the output by a large factor at every site. With ``MPSLayer``,
    bond 10, float32 and 64 samples (median ``|output|``): 3.6e34 at 65 sites, NaN at 785.
    Use instead

    * ``init_method='randn_eye', std=1e-9`` (each core near the identity on physical
      index 0) with an embedding whose first entry is 1 (``tk.embeddings.add_ones`` or
      ``poly``): ~1 at 65 and at 785 sites;
    * or ``init_method='unit'`` (or ``'canonical'``) with a unit-norm embedding
      (``tk.embeddings.unit``): ~0.3 (0.03) at 65 sites, 1e-6 to 1e-5 (1e-10) at 785.

    Mixing them fails: ``randn_eye`` with ``unit`` gives ~1e-20 at 65 sites and 0 at 785;
    ``unit``/``canonical`` with ``add_ones`` overflow to NaN at 785.

    Contraction: by default (``inline_input``/``inline_mats`` None) an OBC input region
    touching an end is contracted with its boundary vector and data in one ``sweep``
    step, whose algorithm a cost model picks per call (:mod:`torchtn.planning.chain`:
    on-the-fly core-data sweep without a ``(sites, batch, bond, bond)`` stack, vector
    sweep, or pairwise tree). With explicit options, ``inline_input=False`` stacks cores
    and data, contracts them in one batched product and unbinds; an OBC end region is
    then swept as vector-matrix products (TK's pairwise matrix tree is used only with
    ``renormalize=True``, whose per-step rule it reproduces). Seeded initialisations and
    ``renormalize`` outputs match TK 1.1.6.

    Differences from TensorKrowch:
        * ``tensors`` works for a 1-site OBC MPS (returns a ``(d,)`` vector).
        * ``copy()`` creates the boundary vectors with the source's device and dtype.
        * ``canonicalize``/``entropy`` are transactional: all decompositions are computed
          on tensors first, so a failure leaves the model unchanged. As in TK, the data
          nodes and the boundary vectors stay (same objects, names and parameter keys).
        * ``norm`` and ``reduced_density`` are computed by transfer-matrix sweeps on the
          tensors: no ``virtual_result_copy`` nodes stay attached after ``norm`` (data nodes
          are still removed), and ``reduced_density`` is exact even with
          ``renormalize=True`` (TK returned it up to an unknown positive factor).
        * With ``marginalize_output=True`` the copies (and embedding matrices) left attached
          by a previous call are replaced instead of reused; the values are the same.
    """

    _net_name = "mps"

    def __init__(
        self,
        n_features: int | None = None,
        phys_dim: Union[int, Sequence[int]] | None = None,
        bond_dim: Union[int, Sequence[int]] | None = None,
        boundary: str = "obc",
        tensors: Sequence[torch.Tensor] | None = None,
        in_features: Sequence[int] | None = None,
        out_features: Sequence[int] | None = None,
        n_batches: int = 1,
        init_method: str | None = "randn",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=self._net_name)
        if tensors is None:
            phys, bonds = _chain.chain_dims(n_features, phys_dim, bond_dim, boundary)
        else:
            boundary, phys, bonds = self._dims_from_tensors(tensors)
            n_features = len(tensors)
            device = tensors[0].device if device is None else device
            dtype = tensors[0].dtype if dtype is None else dtype
        self._n_features = n_features
        self._phys_dim = phys
        self._bond_dim = bonds
        self._boundary = boundary
        self._in_features, self._out_features = self._resolve_features(in_features, out_features)
        self._n_batches = check_n_batches(n_batches)
        self._make_nodes()
        self.initialize(
            tensors=tensors, init_method=init_method, device=device, dtype=dtype, **kwargs
        )

    # -- construction ------------------------------------------------------------------------
    @staticmethod
    def _dims_from_tensors(tensors: Any) -> tuple[str, list[int], list[int]]:
        _chain.check_tensors(tensors, nonempty=True)
        check_tensor_sizes(tensors)
        first, n = tensors[0], len(tensors)
        if first.dim() == 1:
            if n != 1:
                raise TNValueError("A rank-1 first tensor is only valid for a 1-site MPS")
            return "obc", [first.shape[0]], []
        if first.dim() == 2:
            boundary, phys, bonds = "obc", [first.shape[0]], [first.shape[1]]
        elif first.dim() == 3:
            boundary, phys, bonds = "pbc", [first.shape[1]], [first.shape[2]]
        else:
            raise TNValueError(f"First tensor should have rank 1, 2 or 3, got {first.dim()}")
        if n == 1:
            if boundary == "obc":
                raise TNValueError("A 1-site OBC MPS takes a rank-1 tensor")
            return boundary, phys, bonds
        return _chain.tail_dims(tensors, boundary, phys, bonds)

    def _resolve_features(self, in_features: Any, out_features: Any) -> tuple[list, list]:
        n = self._n_features
        if in_features is None and out_features is None:
            return list(range(n)), []
        if in_features is None:
            out_f = features_list(out_features, "out_features", n)
            return [i for i in range(n) if i not in out_f], out_f
        in_f = features_list(in_features, "in_features", n)
        if out_features is None:
            return in_f, [i for i in range(n) if i not in in_f]
        out_f = features_list(out_features, "out_features", n)
        if set(in_f) & set(out_f) or set(in_f) | set(out_f) != set(range(n)):
            raise TNValueError(
                f"`in_features` and `out_features` should be disjoint and cover all {n} sites"
            )
        return in_f, out_f

    def _site_shapes(self) -> list[tuple[int, int, int]]:
        return _chain.site_shapes(self._phys_dim, self._bond_dim, self._boundary)

    def _make_nodes(self) -> None:
        shapes = self._site_shapes()
        mats = [
            ParamNode(
                shape=s,
                axes_names=("left", "input", "right"),
                name=f"mats_env_node_({i})",
                network=self,
            )
            for i, s in enumerate(shapes)
        ]
        self._link(mats, shapes[0][0], shapes[-1][2])

    # -- properties ---------------------------------------------------------------------------
    phys_dim = attribute("_phys_dim", "Physical dimension of every site.")
    bond_dim = attribute("_bond_dim", "Bond dimensions (``n-1`` entries for obc, ``n`` for pbc).")

    @property
    def n_batches(self) -> int:
        """Number of batch axes of the data nodes."""
        return self._n_batches

    @n_batches.setter
    def n_batches(self, value: int) -> None:
        check_n_batches(value)
        if value != self._n_batches and self._data_nodes:
            raise TNValueError(
                "`n_batches` cannot be changed while data nodes exist; call "
                "unset_data_nodes() first"
            )
        self._n_batches = value

    @property
    def in_features(self) -> list[int]:
        """Sorted input sites."""
        return self._in_features

    @in_features.setter
    def in_features(self, value: Sequence[int]) -> None:
        self._check_no_data("in_features")
        self._in_features, self._out_features = self._resolve_features(value, None)

    @property
    def out_features(self) -> list[int]:
        """Sorted output sites."""
        return self._out_features

    @out_features.setter
    def out_features(self, value: Sequence[int]) -> None:
        self._check_no_data("out_features")
        self._in_features, self._out_features = self._resolve_features(None, value)

    def _check_no_data(self, what: str) -> None:
        if self._data_nodes:
            raise TNValueError(
                f"`{what}` cannot be changed while data nodes exist; call unset_data_nodes() first"
            )

    @property
    def in_regions(self) -> list[list[int]]:
        """Maximal runs of consecutive input sites."""
        return split_sequence_into_regions(self._in_features)

    @property
    def out_regions(self) -> list[list[int]]:
        """Maximal runs of consecutive output sites."""
        return split_sequence_into_regions(self._out_features)

    mats_env = attribute("_mats_env", "The site nodes (reads ``_mats_env`` each time).")

    @property
    def in_env(self) -> list[AbstractNode]:
        """Nodes at the input sites."""
        return [self._mats_env[i] for i in self._in_features]

    @property
    def out_env(self) -> list[AbstractNode]:
        """Nodes at the output sites."""
        return [self._mats_env[i] for i in self._out_features]

    @property
    def tensors(self) -> list[torch.Tensor]:
        """Core tensors in the user convention (obc boundaries contracted in)."""
        return self._user_tensors()

    # -- initialisation -----------------------------------------------------------------------
    def _generated_tensors(self, init_method: str, device: Any, dtype: Any) -> list:
        shapes = self._site_shapes()
        if init_method == "unit":
            return _chain.unit_tensors(self._phys_dim, shapes, self._boundary, device, dtype)
        return _chain.canonical_tensors(self._phys_dim, shapes, self._boundary, device, dtype)

    def _set_user_tensors(self, tensors: Sequence[torch.Tensor]) -> None:
        if len(tensors) != self._n_features:
            raise TNValueError(
                f"`tensors` should have {self._n_features} elements, got {len(tensors)}"
            )
        tensors = list(tensors)
        if self._boundary == "obc":
            if len(tensors) == 1:
                tensors[0] = tensors[0].reshape(1, -1, 1)
            else:
                shapes = self._site_shapes()
                tensors[0] = _chain.embed_boundary(tensors[0], shapes[0], "left")
                tensors[-1] = _chain.embed_boundary(tensors[-1], shapes[-1], "right")
        for node, t in zip(self._mats_env, tensors, strict=False):
            node.tensor = t

    def _core_init(self, init_method: str, device: Any, dtype: Any, **kwargs: Any) -> None:
        n = self._n_features
        method = "randn" if init_method == "randn_eye" else init_method
        for i, node in enumerate(self._mats_env):
            t = node.make_tensor(init_method=method, device=device, dtype=dtype, **kwargs)
            if init_method == "randn_eye":
                t = _chain.add_eye(t, self._eye_index(i))
            node.tensor = _chain.zero_ends(t, i, n, self._boundary)

    def _eye_index(self, site: int) -> int | None:
        return 0

    def initialize(
        self,
        tensors: Sequence[torch.Tensor] | None = None,
        init_method: str | None = "randn",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        """(Re)set the cores from ``tensors`` or an ``init_method`` (spec §3.3)."""
        if init_method in ("unit", "canonical"):
            tensors = self._generated_tensors(init_method, device, dtype)
        if tensors is not None:
            self._set_user_tensors(tensors)
            device, dtype = tensors[0].device, tensors[0].dtype
        elif init_method is not None:
            if init_method not in _CORE_METHODS:
                raise TNValueError(
                    f"Choose a valid `init_method` ({', '.join(_CORE_METHODS)}, "
                    f"'unit', 'canonical'), got {init_method!r}"
                )
            _chain.float_kwargs(kwargs)
            self._core_init(init_method, device, dtype, **kwargs)
        self._reset_boundary(device, dtype)

    def set_data_nodes(self) -> None:
        """Create data nodes on the ``input`` edges of the input sites."""
        edges = [node["input"] for node in self.in_env]
        if edges:
            super().set_data_nodes(edges, self._n_batches)

    # -- copy / parameterize -----------------------------------------------------------------
    def _copy_kwargs(self) -> dict:
        return dict(
            n_features=self._n_features,
            phys_dim=list(self._phys_dim),
            bond_dim=list(self._bond_dim),
            boundary=self._boundary,
            in_features=list(self._in_features),
            out_features=list(self._out_features),
            n_batches=self._n_batches,
        )

    def copy(self, share_tensors: bool = False) -> MPS:
        """A new model with the same configuration; tensors shared or cloned."""
        ref = self._mats_env[0].tensor
        device = None if ref is None else ref.device
        dtype = None if ref is None else ref.dtype
        new = self._copy_class()(
            init_method=None, device=device, dtype=dtype, **self._copy_kwargs()
        )
        new.name = self.name + "_copy"
        self._copy_tensors_into(new, share_tensors)
        return new

    def _copy_class(self) -> type:
        return MPS

    def _copy_tensors_into(self, new: MPS, share: bool) -> None:
        for src, dst in zip(self._mats_env, new._mats_env, strict=False):
            t = src.tensor
            dst.tensor = t if share or t is None else t.clone()

    def parameterize(self, set_param: bool = True, override: bool = False) -> MPS:
        """Turn every node into a ParamNode (``set_param``) or a plain Node."""
        net = self._parameterize_target(override)
        net._parameterize_nodes(set_param)
        return net

    def _parameterize_target(self, override: bool) -> MPS:
        """``self`` (``override``) or a copy with cloned tensors, after removing (with a
        warning) any resultant nodes."""
        if self._resultant_nodes:
            import warnings

            warnings.warn("Resultant nodes will be removed before parameterizing the network")
            self.reset()
        return self if override else self.copy(share_tensors=False)

    def update_bond_dim(self) -> None:
        """Recompute ``bond_dim`` from the node shapes (resizing obc boundary vectors)."""
        mats = self._mats_env
        if self._boundary == "pbc":
            self._bond_dim = [node["right"].size() for node in mats]
            return
        self._bond_dim = [node["right"].size() for node in mats[:-1]]
        if self._bond_dim:
            if mats[0]["left"].size() != self._bond_dim[0]:
                mats[0]["left"].change_size(self._bond_dim[0])
            if mats[-1]["right"].size() != self._bond_dim[-1]:
                mats[-1]["right"].change_size(self._bond_dim[-1])

    # -- checkpoints (see torchtn/core/_checkpoint.py) ----------------------------------------
    def _tk_stack_layout(self) -> list[list[AbstractNode]]:
        # TensorKrowch's default contraction stacks every input core into one stack.
        if not self._auto_stack or not self._in_features:
            return []
        return [[self._mats_env[i] for i in self._in_features]]

    def _sizes_changed(self) -> None:
        self.update_bond_dim()

    # -- contraction --------------------------------------------------------------------------
    def _input_contraction(self, inline_input: bool, sites: list[int]) -> list[AbstractNode]:
        if not sites:
            return []
        nodes = [self._mats_env[i] for i in sites]
        datas = [node.neighbours("input") for node in nodes]
        if inline_input or len(nodes) == 1:
            # data first, as TensorKrowch: the results are (batch, left, right)
            return [d @ n for n, d in zip(nodes, datas, strict=True)]
        stack = op.stack(nodes)
        stack_data = op.stack(datas)
        stack["input"] ^ stack_data["feature"]
        return op.unbind(stack_data @ stack)

    def _chain_pairwise(self, nodes: list[AbstractNode], renormalize: bool) -> AbstractNode:
        nodes = list(nodes)
        while len(nodes) > 1:
            n_pairs = len(nodes) // 2
            lefts, rights = nodes[0 : 2 * n_pairs : 2], nodes[1 : 2 * n_pairs : 2]
            leftover = nodes[2 * n_pairs :]
            if n_pairs == 1:
                # Only the bond between the pair: a periodic bond stays open (traced last).
                edge = lefts[0]["right"]
                results = [op.contract_edges([edge], lefts[0], rights[0])]
            else:
                stack_l, stack_r = op.stack(lefts), op.stack(rights)
                stack_l["right"] ^ stack_r["left"]
                results = op.unbind(stack_l @ stack_r)
            if renormalize:
                results = [renormalized(r, ("left", "right")) for r in results]
            nodes = results + leftover
        return nodes[0]

    def _chain(
        self, nodes: list[AbstractNode], inline_mats: bool, renormalize: bool
    ) -> AbstractNode:
        if len(nodes) == 1:
            return nodes[0]
        if inline_mats:
            return inline_chain(nodes, renormalize)
        return self._chain_pairwise(nodes, renormalize)

    def _region_nodes(
        self, inline_input: bool | None, inline_mats: bool | None, renormalize: bool
    ) -> tuple[dict[int, AbstractNode], bool, bool]:
        """Contract each input region into one node, keyed by the region's first site.

        In OBC a region touching an end absorbs the boundary vector *first*. With the
        default options (both ``inline_*`` None, no ``renormalize``) it is one
        :func:`~torchtn.models._sweep.sweep` step, whose algorithm is chosen per call by
        the cost model of :mod:`torchtn.planning.chain`; with explicit options it is swept
        as vector-matrix products of the stacked core-data products (only the pairwise
        scheme with ``renormalize`` keeps TK's matrix tree, whose per-step normalisation it
        must reproduce). Also returns whether the left / right boundary vectors were used.
        """
        if not self._in_features:
            return {}, False, False
        auto = inline_input is None and inline_mats is None and not renormalize
        inline_input, inline_mats = bool(inline_input), bool(inline_mats)
        obc = self._boundary == "obc"
        last = self._n_features - 1
        regions = self.in_regions
        if auto and obc:
            fly = [r for r in regions if r[0] == 0 or r[-1] == last]
            rest = [i for r in regions if r not in fly for i in r]
        else:
            fly, rest = [], list(self._in_features)
        contracted = dict(zip(rest, self._input_contraction(inline_input, rest), strict=True))
        vector_ok = obc and (inline_mats or not renormalize)
        out = {}
        used_left = used_right = False
        for region in regions:
            if region in fly:
                cores = [self._mats_env[i] for i in region]
                datas = [node.neighbours("input") for node in cores]
                if region[0] == 0:
                    result = _sweep.sweep(self._left_node, cores, datas, "left")
                    if region[-1] == last:
                        result = result @ self._right_node
                        used_right = True
                    used_left = True
                else:
                    result = _sweep.sweep(self._right_node, cores, datas, "right")
                    used_right = True
                out[region[0]] = result
                continue
            nodes = [contracted[i] for i in region]
            if vector_ok and region[0] == 0:
                out[0] = inline_chain([self._left_node] + nodes, renormalize)
                used_left = True
            elif vector_ok and region[-1] == last:
                result = self._right_node
                for node in reversed(nodes):
                    result = node @ result
                    if renormalize:
                        result = renormalized(result, ("left",))
                out[region[0]] = result
                used_right = True
            else:
                result = self._chain(nodes, inline_mats, renormalize)
                if obc and region[0] == 0:
                    result = self._left_node @ result
                    used_left = True
                    if renormalize:
                        result = renormalized(result, ("right",))
                if obc and region[-1] == last:
                    result = result @ self._right_node
                    used_right = True
                    if renormalize:
                        result = renormalized(result, ("left",))
                out[region[0]] = result
        return out, used_left, used_right

    def contract(
        self,
        inline_input: bool | None = None,
        inline_mats: bool | None = None,
        renormalize: bool = False,
        marginalize_output: bool = False,
        embedding_matrices: Union[torch.Tensor, Sequence[torch.Tensor]] | None = None,
        mpo: Any | None = None,
    ) -> AbstractNode:
        """Contract the network (spec §3.5); batch axes first, then output sites.

        ``inline_input``/``inline_mats`` left as None (the default) let torchtn choose:
        in OBC each input region touching an end is one ``sweep`` step whose algorithm
        (on-the-fly, vector or tree) a cost model picks per call; interior regions and
        PBC use the stacked products. Passing ``False``/``True`` explicitly keeps
        TensorKrowch's meaning (TK's defaults were ``False``).
        """
        embedding_matrices = self._check_marginal_args(embedding_matrices, mpo)
        if self._in_features and not self._data_nodes:
            raise TNValueError(
                f"{type(self).__name__} has {len(self._in_features)} input sites but no data: "
                "call the model with data, e.g. `model(data)` (or set `in_features=[]` "
                "for a model without inputs)"
            )
        marginalize = marginalize_output and bool(self._out_features)
        if marginalize:
            copy, mats = self._attach_output_copy(embedding_matrices, mpo)
        obc = self._boundary == "obc"
        regions, used_left, used_right = self._region_nodes(inline_input, inline_mats, renormalize)
        result = self._assemble(regions, used_left, used_right, renormalize)
        if not obc:
            loops = op.get_shared_edges(result, result)
            if loops:
                result = op.contract_edges(loops, result, result)
        result = self._batch_first(result)
        if marginalize:
            copy.set_tensor_from(result)
            left = _tensor_op("conj")(copy)
            for mat in mats:
                left = left @ mat
            result = self._batch_first(left @ result)
        return result

    def _assemble(
        self, regions: dict, used_left: bool, used_right: bool, renormalize: bool
    ) -> AbstractNode:
        """TK's step (3)-(4): output nodes absorb their neighbouring region nodes (or the
        boundary vectors) without renormalisation, then are chained left to right."""
        obc = self._boundary == "obc"
        n = self._n_features
        left_b = self._left_node if obc and not used_left else None
        right_b = self._right_node if obc and not used_right else None
        if not self._out_features:
            result = regions[0]
            if left_b is not None:
                result = left_b @ result
            if right_b is not None:
                result = result @ right_b
            return result
        ends = {r[-1]: regions[r[0]] for r in self.in_regions}
        augmented = []
        out_regions = self.out_regions
        for region in out_regions:
            nodes = [self._mats_env[i] for i in region]
            first, last = region[0], region[-1]
            if first - 1 in ends:
                nodes[0] = ends[first - 1] @ nodes[0]
            elif first == 0 and left_b is not None:
                nodes[0] = left_b @ nodes[0]
            if last + 1 in regions and region is out_regions[-1]:
                nodes[-1] = nodes[-1] @ regions[last + 1]
            elif last == n - 1 and right_b is not None:
                nodes[-1] = nodes[-1] @ right_b
            augmented.extend(nodes)
        if len(augmented) == 1:
            return augmented[0]
        return inline_chain(augmented, renormalize)

    def _batch_first(self, node: AbstractNode) -> AbstractNode:
        names = node.axes_names
        batch = [i for i, ax in enumerate(node.axes) if ax.is_batch()]
        rest = [i for i in range(len(names)) if i not in batch]
        order = batch + rest
        if order == list(range(len(names))):
            return node
        return _tensor_op("permute")(node, order)
