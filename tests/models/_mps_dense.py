"""Dense float64 references for the MPS-family tests."""

import torch

LETTERS = "abcdefghijklmnop"


def dense_state(model) -> torch.Tensor:
    """Full amplitude tensor ``(d_0, ..., d_{n-1})`` built from ``model.tensors``."""
    ts = [t.detach() for t in model.tensors]
    if model.boundary == "obc":
        if len(ts) == 1:
            return ts[0]
        full = ts[0]
        for t in ts[1:]:
            full = torch.tensordot(full, t, ([-1], [0]))
        return full
    full = ts[0]
    for t in ts[1:]:
        full = torch.tensordot(full, t, ([-1], [0]))
    return torch.diagonal(full, dim1=0, dim2=-1).sum(-1)


def dense_output(model, data: torch.Tensor) -> torch.Tensor:
    """Reference ``model(data)``: data ``(batch, n_in, d)`` contracted into the state."""
    psi = dense_state(model)
    n = model.n_features
    ins, outs = model.in_features, model.out_features
    if not ins:
        return psi
    eq = (
        LETTERS[:n]
        + ","
        + ",".join("z" + LETTERS[i] for i in ins)
        + "->z"
        + "".join(LETTERS[i] for i in outs)
    )
    return torch.einsum(eq, psi, *[data[:, k] for k in range(len(ins))])
