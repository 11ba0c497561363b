"""Per-edge tensor products of sender features with spherical harmonics, weighted per edge by a
radial network: the message of TFN and the keys and values of the SE(3)-Transformer.

The function is e3nn's ``FullyConnectedTensorProduct(irreps_in, irreps_sh, irreps_out,
shared_weights=False)`` fed by ``FullyConnectedNet([1, hidden, hidden, weight_numel])`` of the edge
length (same paths, path weights and radial parameters; the weights of a checkpoint written with
e3nn's module load unchanged), computed in two stages:

1. :class:`EdgeCoupling` (no parameters): for each output irrep ``l3`` the Clebsch-Gordan coupling
   :math:`z_{e,(p,u),k} = \\sum_{ij} C^{l_1 l_2 l_3}_{ijk} f_{e,u,i} Y_{e,j}` of every path ``p``
   that reaches ``l3``: per input block, the harmonics contracted with the coefficients first
   (a small matrix per edge), then one batched matmul with the block. It depends on neither the
   radial weights nor the output multiplicities, so several tensor products of the same inputs
   (key and value) share it.
2. :class:`RadialTensorProduct`: the radial network's last layer gives, per edge, the weights of
   every path with output ``l3`` in one contiguous block ``[E, U, W]`` (one matmul per block, the
   columns of the last layer's weight permuted and scaled by the path weights), and one batched
   matmul per output block contracts them with ``z``:
   :math:`out_{e,w,k} = \\sum_{(p,u)} R_{e,(p,u),w} z_{e,(p,u),k}`.

e3nn slices its flat per-edge weight tensor ``[E, weight_numel]`` once per path, and the backward
pass of each slice writes a zero tensor of that full size; here no per-edge tensor is sliced.
"""

from __future__ import annotations

import torch
from e3nn import o3
from e3nn.nn import FullyConnectedNet
from torch import Tensor, nn

OutputIrrep = tuple[int, int]  # (l, parity) of an output block


def _paths(irreps_in: o3.Irreps, irreps_sh: o3.Irreps, ir: o3.Irrep) -> list[tuple[int, int]]:
    """The (input block, sh block) pairs coupling to ``ir``, in e3nn's instruction order."""
    return [
        (i1, i2)
        for i1, (_, ir1) in enumerate(irreps_in)
        for i2, (_, ir2) in enumerate(irreps_sh)
        if ir in ir1 * ir2
    ]


class EdgeCoupling(nn.Module):
    """Clebsch-Gordan coupling of per-edge features with spherical harmonics, by output irrep.

    Args:
        irreps_in: irreps of the (gathered) sender features.
        irreps_sh: irreps of the spherical harmonics (multiplicity 1 each).
        irreps_out: the output irreps to prepare (each distinct irrep coupled once).

    Shapes: features [E, irreps_in.dim]; sh [E, irreps_sh.dim]; returns a dict
    ``(l, p) -> [E, U, 2l+1]`` with ``U = sum over paths of mul_in``, paths in e3nn's order.
    """

    def __init__(self, irreps_in: o3.Irreps, irreps_sh: o3.Irreps, irreps_out: o3.Irreps):
        super().__init__()
        if any(mul != 1 for mul, _ in irreps_sh):
            raise ValueError(f"irreps_sh must have multiplicity 1 per block, got {irreps_sh}")
        self.irreps_in, self.irreps_sh = o3.Irreps(irreps_in), o3.Irreps(irreps_sh)
        self.targets = sorted({(ir.l, ir.p) for _, ir in o3.Irreps(irreps_out)})
        # Per input block: Clebsch-Gordan coefficients [(2l1+1), sh dim, columns], a column per
        # (target, path, k).
        self.columns: list[dict[tuple[OutputIrrep, int], slice]] = []
        for i1, (_, ir1) in enumerate(self.irreps_in):
            blocks, columns, start = [], {}, 0
            for target in self.targets:
                ir = o3.Irrep(*target)
                for j1, i2 in _paths(self.irreps_in, self.irreps_sh, ir):
                    if j1 != i1:
                        continue
                    ir2 = self.irreps_sh[i2].ir
                    block = torch.zeros(ir1.dim, self.irreps_sh.dim, ir.dim)
                    sh_slice = self.irreps_sh.slices()[i2]
                    block[:, sh_slice] = o3.wigner_3j(ir1.l, ir2.l, ir.l)
                    blocks.append(block.reshape(ir1.dim * self.irreps_sh.dim, ir.dim))
                    columns[(target, i2)] = slice(start, start + ir.dim)
                    start += ir.dim
            matrix = torch.cat(blocks, dim=1) if blocks else torch.zeros(0, 0)
            # As [sh dim, (2l1+1) * columns]: the harmonics are contracted first in forward.
            matrix = matrix.view(ir1.dim, self.irreps_sh.dim, -1).transpose(0, 1)
            self.register_buffer(
                f"cg_{i1}", matrix.reshape(self.irreps_sh.dim, -1), persistent=False
            )
            self.columns.append(columns)

    def forward(self, features: Tensor, sh: Tensor) -> dict[OutputIrrep, Tensor]:
        n_edges = features.shape[0]
        coupled: list[Tensor] = []
        for i1, (mul, ir1) in enumerate(self.irreps_in):
            cg = getattr(self, f"cg_{i1}")  # [sh dim, (2l1+1) * columns]
            if cg.numel() == 0:
                coupled.append(features.new_zeros(0))
                continue
            # Harmonics contracted first: a (2l1+1) x columns matrix per edge, applied to the block.
            per_edge = (sh @ cg).view(n_edges, ir1.dim, -1)
            block = features[:, self.irreps_in.slices()[i1]].reshape(n_edges, mul, ir1.dim)
            coupled.append(torch.bmm(block, per_edge))
        out = {}
        for target in self.targets:
            parts = [
                coupled[i1][:, :, self.columns[i1][(target, i2)]]
                for i1, i2 in _paths(self.irreps_in, self.irreps_sh, o3.Irrep(*target))
            ]
            if parts:
                out[target] = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return out


class RadialTensorProduct(nn.Module):
    """Per-edge tensor product of sender features with the edge's spherical harmonics, its weights
    given by an MLP of the edge length: :math:`TP(f_j, Y(\\hat r_{ij}); R(\\|r_{ij}\\|))`, every
    path allowed by parity, one weight per (path, input channel, output channel) and edge
    (e3nn's ``uvw`` mode).

    With ``copies`` > 1 it computes that many such products of the same inputs and output irreps
    (an attention layer's key and value), the radial MLP's hidden layers shared and its last layer
    giving the weights of all of them; each output block is then one batched matmul for all copies.

    Args:
        irreps_in, irreps_sh, irreps_out: irreps of sender features, spherical harmonics, output.
        radial_hidden: width of the two hidden layers of the radial MLP (SiLU).
        copies: number of products (output c uses columns ``[c * weight_numel, (c + 1) *
            weight_numel)`` of the radial MLP's output, each in e3nn's flat weight order).

    Shapes: coupled (from :class:`EdgeCoupling` of the same irreps_in, irreps_sh) ``(l, p) ->
    [E, U, 2l+1]``; lengths [E, 1]; returns [E, irreps_out.dim] (a tuple of ``copies`` of them
    when ``copies`` > 1).
    """

    def __init__(
        self,
        irreps_in: o3.Irreps,
        irreps_sh: o3.Irreps,
        irreps_out: o3.Irreps,
        radial_hidden: int = 32,
        copies: int = 1,
    ):
        super().__init__()
        self.irreps_in, self.irreps_sh = o3.Irreps(irreps_in), o3.Irreps(irreps_sh)
        self.irreps_out, self.copies = o3.Irreps(irreps_out), copies
        irreps_in, irreps_sh = self.irreps_in, self.irreps_sh
        # e3nn's module gives the paths, their order in the flat weight vector and path weights.
        reference = o3.FullyConnectedTensorProduct(
            irreps_in, irreps_sh, self.irreps_out, shared_weights=False, compile_left_right=False
        )
        self.weight_numel = numel = reference.weight_numel
        self.radial = FullyConnectedNet(
            [1, radial_hidden, radial_hidden, copies * numel], torch.nn.functional.silu
        )
        offsets, start = [], 0
        for ins in reference.instructions:
            offsets.append(start)
            start += int(torch.Size(ins.path_shape).numel())
        order, scale = [], torch.zeros(numel)
        # Per output block: (target irrep, U, W) or None where no path reaches it.
        self.blocks: list[tuple[OutputIrrep, int, int] | None] = []
        for i_out, (mul_out, ir_out) in enumerate(self.irreps_out):
            instructions = [
                (k, ins) for k, ins in enumerate(reference.instructions) if ins.i_out == i_out
            ]
            if [(ins.i_in1, ins.i_in2) for _, ins in instructions] != _paths(
                irreps_in, irreps_sh, ir_out
            ):
                raise ValueError(f"unexpected paths to {mul_out}x{ir_out}")
            if not instructions:
                self.blocks.append(None)
                continue
            # Block layout [U, copies, W]: rows (path, u, v), then copy, then output channel.
            rows = []
            for k, ins in instructions:
                size = int(torch.Size(ins.path_shape).numel())
                scale[offsets[k] : offsets[k] + size] = ins.path_weight
                rows.append(torch.arange(offsets[k], offsets[k] + size).view(-1, 1, mul_out))
            block = torch.cat(rows) + numel * torch.arange(copies).view(1, -1, 1)
            order.append(block.flatten())
            self.blocks.append(((ir_out.l, ir_out.p), block.shape[0], mul_out))
        self.register_buffer("order", torch.cat(order), persistent=False)
        self.register_buffer("path_scale", scale.repeat(copies), persistent=False)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Checkpoints written with e3nn's tensor-product module carry its constants (no parameters).
        for key in [k for k in state_dict if k.startswith(prefix + "tp.")]:
            del state_dict[key]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def edge_weights(self, lengths: Tensor) -> list[Tensor]:
        """The radial MLP's per-edge weights, ``[E, U, copies * W]`` per reached output block."""
        hidden = lengths
        for layer in list(self.radial)[:-1]:
            hidden = layer(hidden)
        last = self.radial[-1]
        weight = last.weight / (last.h_in * last.var_in / last.var_out) ** 0.5
        weight = (weight * self.path_scale).index_select(1, self.order)
        # One matmul per output block: contiguous [E, U * copies * W] blocks batch-multiply faster
        # than column slices of one [E, total] product.
        blocks = [(rows, self.copies * mul) for _, rows, mul in filter(None, self.blocks)]
        columns = weight.split([rows * cols for rows, cols in blocks], dim=1)
        return [
            (hidden @ w).view(-1, rows, cols)
            for w, (rows, cols) in zip(columns, blocks, strict=True)
        ]

    def forward(self, coupled: dict[OutputIrrep, Tensor], lengths: Tensor) -> Tensor | tuple:
        weights = iter(self.edge_weights(lengths))
        n_edges = lengths.shape[0]
        outs: list[list[Tensor]] = [[] for _ in range(self.copies)]
        for block, (mul, ir) in zip(self.blocks, self.irreps_out, strict=True):
            if block is None:
                for out in outs:
                    out.append(lengths.new_zeros(n_edges, mul * ir.dim))
                continue
            z = coupled[block[0]]  # [E, U, K]
            product = torch.bmm(z.transpose(1, 2), next(weights))  # [E, K, copies * W]
            product = product.view(n_edges, ir.dim, self.copies, mul)
            for c, out in enumerate(outs):
                out.append(product[:, :, c].transpose(1, 2).reshape(n_edges, mul * ir.dim))
        results = tuple(out[0] if len(out) == 1 else torch.cat(out, dim=1) for out in outs)
        return results[0] if self.copies == 1 else results
