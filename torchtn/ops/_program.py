"""The compiled replay program behind ``TensorNetwork.forward`` after the first call.

The recorded successors (``network._seq_succ``) are turned into the source of one
Python function: one line per kernel call, operands read from slots (local variables)
instead of node memory, axis orders propagated between kernels so that permutations are
folded into the plan, steps that compute nothing (auto-stack, auto-unbind, references)
dropped, and every intermediate deleted right after its last use. Only the final output
(and, when the network is not traced, every resultant, as TensorKrowch keeps them) is
written back to node memory; after ``trace()`` the memories TensorKrowch frees
(consumed data and intermediates) are set to None. See ``ops/README.md``.
"""

from __future__ import annotations

from typing import Any

import torch

from torchtn._utils import inverse_permutation
from torchtn.core.network import TensorNetwork
from torchtn.core.node import AbstractNode, _as_index
from torchtn.errors import TNValueError

__all__ = ["Program", "compile_program"]


def _erasable(node: AbstractNode) -> bool:
    return (
        node.is_resultant() or node._data or (node._virtual and node._name == "stack_data_memory")
    )


def _identity(order) -> bool:
    return order is None or all(i == o for i, o in enumerate(order))


def _index_in_order(index: Any, order: tuple[int, ...]):
    """Map a node-order index (ints/slices) onto a tensor stored in ``order``.

    Returns ``(phys_index, new_order)`` or None if it cannot be mapped.
    """
    idx = _as_index(index)
    if not isinstance(idx, tuple):
        idx = (idx,)
    if any(not isinstance(i, (int, slice)) for i in idx):
        return None
    full = list(idx) + [slice(None)] * (len(order) - len(idx))
    phys = tuple(full[a] for a in order)
    kept = [a for a in order if not isinstance(full[a], int)]
    remap = {a: k for k, a in enumerate(sorted(kept))}
    return phys, tuple(remap[a] for a in kept)


class Program:
    """A compiled replay of a network's recorded operations."""

    def __init__(self, net: TensorNetwork) -> None:
        self.seq = net._seq_succ
        self.n = len(net._seq_succ)
        self._variants: dict[bool, Any] = {}
        self.source: dict[bool, str] = {}

    def valid_for(self, net: TensorNetwork) -> bool:
        """Whether the recorded operations are still the ones compiled."""
        return self.seq is net._seq_succ and self.n == len(net._seq_succ)

    def run(self, net: TensorNetwork) -> torch.Tensor:
        """Run the program and return the output tensor (node order)."""
        traced = bool(net._traced)
        fn = self._variants.get(traced)
        if fn is None:
            fn = self._variants[traced] = self._build(net, traced)
        return fn(net._memory_nodes)

    # -- code generation ------------------------------------------------------------------
    def _build(self, net: TensorNetwork, traced: bool):
        succs = self.seq
        if not succs:
            raise TNValueError(f"Network {net.name!r} has no recorded operations to replay")
        g: dict[str, Any] = {
            "torch": torch,
            "_shape_of": _shape_of,
            "_unbind_shapes": _unbind_shapes,
        }
        body: list[str] = []
        prelude: list[str] = []  # external loads, all at the top
        produced: dict[int, tuple[str, Any]] = {}
        externals: dict[int, str] = {}
        consumed: dict[int, AbstractNode] = {}
        counter = [0]

        def const(obj: Any) -> str:
            name = f"c{counter[0]}"
            counter[0] += 1
            g[name] = obj
            return name

        def value_of(node: AbstractNode) -> tuple[str, Any]:
            info = node._tensor_info
            if info["address"] is not None:
                owner, index = node, None
            else:
                owner, index = info["node_ref"], info["index"]
            consumed[id(owner)] = owner
            slot = produced.get(id(owner))
            if slot is None:
                var = externals.get(id(owner))
                if var is None:
                    var = f"e{len(externals)}"
                    externals[id(owner)] = var
                    prelude.append(f"{var} = mem[{const(owner)}._tensor_info['address']]")
                slot = (var, None)
            expr, order = slot
            if index is None:
                return expr, order
            if order is not None and not _identity(order):
                mapped = _index_in_order(index, order)
                if mapped is not None:
                    phys, new_order = mapped
                    return f"{expr}[{const(phys)}]", new_order
                expr = f"{expr}.permute({tuple(inverse_permutation(order))!r})"
            return f"{expr}[{const(_as_index(index))}]", None

        uses: list[list[str]] = []
        step_vars: list[list[str]] = []
        for k, succ in enumerate(succs):
            kernel = succ._run
            if kernel is None:
                uses.append([])
                step_vars.append([])
                continue
            ins = [value_of(n) for n in succ._args]
            if kernel.relayout is not None:
                if any(not _identity(o) for _, o in ins):
                    kernel = kernel.relayout(tuple(o for _, o in ins))
                args = [e for e, _ in ins]
                inline = getattr(kernel.fn, "inline", None)
                if inline is not None:  # a bare bmm/mm/matmul: no call layer
                    g.setdefault("bmm", torch.bmm)
                    g.setdefault("mm", torch.mm)
                    g.setdefault("matmul", torch.matmul)
                    call = inline.format(*args)
                else:
                    call = f"{const(kernel.fn)}({', '.join(args)})"
                out_orders = kernel.out_orders
            else:
                args = [
                    e if _identity(o) else f"{e}.permute({tuple(inverse_permutation(o))!r})"
                    for e, o in ins
                ]
                inline = getattr(kernel.fn, "inline", None)
                outs = kernel.out_orders
                plain = not kernel.multi and not kernel.in_orders
                if inline is not None and plain and (not outs or _identity(outs[0])):
                    call = inline.format(*args)
                else:
                    call = f"{const(kernel.eager)}({', '.join(args)})"
                out_orders = (None,) * len(kernel.out_orders)
            children = succ.child if isinstance(succ.child, list) else [succ.child]
            if kernel.multi:
                names = [f"t{k}_{i}" for i in range(len(children))]
                body.append(f"{', '.join(names)}{',' if len(names) == 1 else ''} = {call}")
            else:
                names = [f"t{k}"]
                body.append(f"t{k} = {call}")
            uses.append([a for a in args])
            step_vars.append(names)
            for i, (c, var) in enumerate(zip(children, names, strict=False)):
                order = out_orders[i] if i < len(out_orders) else None
                produced[id(c)] = (var, None if _identity(order) else order)
                if traced and c._tensor_info is not None and c._tensor_info["address"]:
                    # Freed memories still show the last shape, as in TensorKrowch.
                    # Only when input shapes changed: otherwise the shape is the same.
                    if _identity(order):
                        body.append(f"if upd: {const(c)}._shape = {var}.shape")
                    else:
                        inv = tuple(inverse_permutation(order))
                        body.append(f"if upd: {const(c)}._shape = _shape_of({var}, {inv!r})")

        # Output: the last operation's single child.
        last = succs[-1].child
        if isinstance(last, list):
            if len(last) != 1:
                raise TNValueError(
                    "The last operation of contract() must return a single "
                    f"resultant node, got a list of {len(last)} nodes"
                )
            last = last[0]
        out_expr, out_order = value_of(last)
        # An output that references another node's memory (auto_unbind): that owner is
        # kept (written back, never freed) so that ``last.tensor`` stays readable.
        info = last._tensor_info
        out_owner = last if info["address"] is not None else info["node_ref"]
        if not _identity(out_order):
            out_expr = f"{out_expr}.permute({tuple(inverse_permutation(out_order))!r})"
        body.append(f"out = {out_expr}")

        # Write-back and freeing: after trace(), TensorKrowch frees every erasable memory
        # (resultant, data, stack_data_memory) consumed by a later operation.
        tail: list[str] = []
        keep_vars: set[str] = {"out"}
        for succ, names in zip(succs, step_vars, strict=False):
            children = succ.child if isinstance(succ.child, list) else [succ.child]
            for c, var in zip(children, names, strict=False):
                if c._tensor_info is None or c._tensor_info["address"] is None:
                    continue
                cn = const(c)
                if c is last:
                    tail.append(f"mem[{cn}._tensor_info['address']] = out; {cn}._shape = out.shape")
                elif traced and id(c) in consumed and _erasable(c) and c is not out_owner:
                    # Freed once per input-shape change: replays never refill it.
                    tail.append(f"if upd: mem[{cn}._tensor_info['address']] = None")
                else:
                    order = produced[id(c)][1]
                    expr = (
                        var
                        if order is None
                        else f"{var}.permute({tuple(inverse_permutation(order))!r})"
                    )
                    tail.append(
                        f"v = {expr}; mem[{cn}._tensor_info['address']] = v; {cn}._shape = v.shape"
                    )
                    keep_vars.add(var)
        if traced:
            for owner_id in externals:
                owner = consumed[owner_id]
                if _erasable(owner) and owner is not out_owner:
                    tail.append(f"mem[{const(owner)}._tensor_info['address']] = None")

        # Index-mode unbinds compute nothing; their children follow new batch sizes.
        for succ in succs:
            if succ._run is None and succ._op == "unbind":
                tail.append(f"if upd: _unbind_shapes({const(succ._args[0])}, {const(succ.child)})")

        # Free every intermediate right after its last use.
        sig = ", ".join(f"{v}.shape" for v in externals.values())
        head = [
            f"sig = ({sig}{',' if len(externals) == 1 else ''})",
            "upd = sig != STATE[0]",
            "if upd: STATE[0] = sig",
        ]
        g["STATE"] = [None]
        self._state = g["STATE"]
        lines = _insert_dels(prelude + head + body, keep_vars | {"sig", "upd"})
        src = "def program(mem):\n    " + "\n    ".join(lines + tail + ["return out"]) + "\n"
        self.source[traced] = src
        exec(compile(src, f"<torchtn program {net.name}>", "exec"), g)  # noqa: S102
        return g["program"]


def _shape_of(t: torch.Tensor, inv) -> torch.Size:
    s = t.shape
    return s if inv is None else torch.Size([s[i] for i in inv])


def _unbind_shapes(stack: AbstractNode, children: list) -> None:
    shape = stack._shape
    for c in children:
        sizes = zip(c._axes, c._shape, strict=True)
        c._shape = torch.Size(shape[k + 1] if ax._batch else s for k, (ax, s) in enumerate(sizes))


def _insert_dels(body: list[str], keep: set[str]) -> list[str]:
    """Add ``del`` statements after the last line using each temporary variable."""
    import re

    token = re.compile(r"\b([te]\d+(?:_\d+)?)\b")
    last_use: dict[str, int] = {}
    defined: dict[str, int] = {}
    for i, line in enumerate(body):
        lhs, _, rhs = line.partition(" = ")
        for v in token.findall(rhs):
            last_use[v] = i
        for v in token.findall(lhs):
            defined.setdefault(v, i)
            last_use.setdefault(v, i)
    out: list[str] = []
    dels: dict[int, list[str]] = {}
    for v, i in last_use.items():
        if v not in keep:
            dels.setdefault(i, []).append(v)
    for i, line in enumerate(body):
        out.append(line)
        if i in dels:
            out.append("del " + ", ".join(sorted(dels[i])))
    return out


def compile_program(net: TensorNetwork) -> Program:
    """Build the replay program of ``net`` (installed as ``TensorNetwork._compile_program``)."""
    return Program(net)
