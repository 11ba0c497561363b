"""An equivariance checker for whole models: inputs to outputs, under E(n) and node permutations.

Every input and output is declared with a kind that says how a group element acts on it:

=============  ==================================================  ============================
kind           rotation / reflection Q, translation t              node permutation P
=============  ==================================================  ============================
POSITION       x -> x Q^T + t                                      node-indexed: x -> P x
VECTOR         v -> v Q^T  (velocities rotate, never translate)    node-indexed
NODE_SCALAR    unchanged                                           node-indexed
EDGE_SCALAR    unchanged                                           edges keep their order
EDGE_INDEX     unchanged                                           node labels renamed
GRAPH_SCALAR   unchanged                                           unchanged
=============  ==================================================  ============================

``equivariance_errors`` returns, for each transformation, the largest absolute difference between
``f(g . inputs)`` and ``g . f(inputs)``; ``assert_equivariant`` raises when one exceeds ``atol``.
Run it in float64 with a tight tolerance; float32 needs a loose one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor

POSITION = "position"
VECTOR = "vector"
NODE_SCALAR = "node_scalar"
EDGE_SCALAR = "edge_scalar"
EDGE_INDEX = "edge_index"
GRAPH_SCALAR = "graph_scalar"
KINDS = (POSITION, VECTOR, NODE_SCALAR, EDGE_SCALAR, EDGE_INDEX, GRAPH_SCALAR)
NODE_INDEXED = (POSITION, VECTOR, NODE_SCALAR)
TRANSFORMS = ("rotation", "reflection", "translation", "permutation", "all")


def random_orthogonal(
    dim: int, reflection: bool, generator: torch.Generator, dtype=torch.float64
) -> Tensor:
    """A random [dim, dim] orthogonal matrix with determinant -1 if ``reflection`` else +1."""
    q, r = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))  # Haar-distributed
    if (torch.det(q) < 0) != reflection:
        q[:, 0] = -q[:, 0]
    return q.to(dtype)


class _Transform:
    """One group element: orthogonal Q [D, D], translation t [D], node permutation perm [N]."""

    def __init__(self, q: Tensor | None, t: Tensor | None, perm: Tensor | None) -> None:
        self.q, self.t, self.perm = q, t, perm
        self.inverse_perm = None if perm is None else torch.argsort(perm)

    def apply(self, value, kind: str):
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; choose one of {KINDS}")
        if not isinstance(value, Tensor):
            return value
        if kind in (POSITION, VECTOR) and self.q is not None:
            value = value @ self.q.to(value.dtype).t()
        if kind == POSITION and self.t is not None:
            value = value + self.t.to(value.dtype)
        if self.perm is not None:
            if kind in NODE_INDEXED:
                value = value[self.perm.to(value.device)]
            elif kind == EDGE_INDEX:
                value = self.inverse_perm.to(value.device)[value]
        return value


def _as_tuple(outputs) -> tuple:
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


def _n_nodes_and_dim(inputs: Mapping, input_kinds: Mapping[str, str]) -> tuple[int, int]:
    n_nodes, dim = None, None
    for name, kind in input_kinds.items():
        value = inputs.get(name)
        if kind in NODE_INDEXED and isinstance(value, Tensor):
            n_nodes = value.shape[0]
        if kind in (POSITION, VECTOR) and isinstance(value, Tensor):
            dim = value.shape[-1]
    if n_nodes is None or dim is None:
        raise ValueError(
            "input_kinds must declare at least one POSITION or VECTOR input (node-indexed, [N, D])"
        )
    return n_nodes, dim


def equivariance_errors(
    fn: Callable,
    inputs: Mapping[str, object],
    input_kinds: Mapping[str, str],
    output_kinds: Sequence[str],
    transforms: Sequence[str] = TRANSFORMS,
    n_trials: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """Largest violation of equivariance for each transformation.

    Args:
        fn: the model, called as ``fn(**inputs)``; returns a tensor or a tuple of tensors.
        inputs: keyword arguments of ``fn``.
        input_kinds: the kind of each input name (inputs not listed are passed unchanged; names
            listed but absent from ``inputs`` are ignored).
        output_kinds: the kind of each output, in order.
        transforms: subset of ``("rotation", "reflection", "translation", "permutation", "all")``;
            ``"all"`` composes a reflection-or-rotation, a translation and a permutation.
        n_trials: random group elements drawn per transformation.
        seed: seed of the random group elements.

    Returns:
        ``{transform: max |f(g . inputs) - g . f(inputs)|}`` over trials and outputs.
    """
    unknown = set(transforms) - set(TRANSFORMS)
    if unknown:
        raise ValueError(f"unknown transforms {sorted(unknown)}; choose from {TRANSFORMS}")
    generator = torch.Generator().manual_seed(seed)
    n_nodes, dim = _n_nodes_and_dim(inputs, input_kinds)
    reference = _as_tuple(fn(**inputs))
    if len(reference) != len(output_kinds):
        raise ValueError(
            f"fn returned {len(reference)} outputs but output_kinds lists {len(output_kinds)}"
        )
    errors: dict[str, float] = {}
    for name in transforms:
        worst = 0.0
        for trial in range(n_trials):
            q = t = perm = None
            if name in ("rotation", "reflection", "all"):
                reflect = name == "reflection" or (name == "all" and trial % 2 == 0)
                q = random_orthogonal(dim, reflect, generator)
            if name in ("translation", "all"):
                t = 3.0 * torch.randn(dim, generator=generator, dtype=torch.float64)
            if name in ("permutation", "all"):
                perm = torch.randperm(n_nodes, generator=generator)
            g = _Transform(q, t, perm)
            moved = {
                k: g.apply(v, input_kinds[k]) if k in input_kinds else v for k, v in inputs.items()
            }
            outputs = _as_tuple(fn(**moved))
            for out, ref, kind in zip(outputs, reference, output_kinds, strict=True):
                expected = g.apply(ref, kind)
                worst = max(worst, (out - expected).abs().max().item())
        errors[name] = worst
    return errors


def assert_equivariant(
    fn: Callable,
    inputs: Mapping[str, object],
    input_kinds: Mapping[str, str],
    output_kinds: Sequence[str],
    atol: float = 1e-9,
    transforms: Sequence[str] = TRANSFORMS,
    n_trials: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """Raise ``AssertionError`` naming each transformation whose violation exceeds ``atol``.

    Returns the errors of :func:`equivariance_errors` when every one is within ``atol``.
    """
    errors = equivariance_errors(fn, inputs, input_kinds, output_kinds, transforms, n_trials, seed)
    failed = {k: v for k, v in errors.items() if not v <= atol}
    if failed:
        detail = ", ".join(f"{k}: {v:.3e}" for k, v in failed.items())
        raise AssertionError(f"not equivariant within atol={atol:.1e}: {detail}")
    return errors
