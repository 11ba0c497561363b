"""The EGNN network: an input embedding, a stack of EGCLs and an output projection."""

from __future__ import annotations

from torch import Tensor, nn

from egnn.nn.egcl_eq3_6 import EGCL
from egnn.nn.segment import segment_count


class EGNN(nn.Module):
    r"""E(n) equivariant graph neural network (Satorras et al., 2021).

    .. math::
        h^0 = W_{in} h, \quad (h^{l+1}, x^{l+1}) = \mathrm{EGCL}_l(h^l, x^l, \mathcal{E}, a, v),
        \quad h_{out} = W_{out} h^L

    Several graphs in one batch are their disjoint union (edge indices offset per graph); each
    layer only couples nodes joined by an edge. Output features ``h_out`` are E(n)-invariant and
    ``x_out`` is E(n)-equivariant (rotations, reflections, translations; and permutations of the
    nodes) for every option below.

    Args:
        in_node_nf: input node feature size.
        hidden_nf: hidden size F.
        out_node_nf: output node feature size; ``None`` returns the last hidden features.
        in_edge_nf: edge attribute size A (0 for none).
        n_layers: number of EGCLs.
        velocity: velocity variant (eq. 7); ``forward`` then needs ``vel``. Every layer receives
            the input velocity, as in the paper's release.
        attention: edge inference (eq. 8).
        update_coords: ``False`` gives an E(n)-invariant network (``x_out`` equals ``x``).
        residual, coord_agg, normalize, tanh, coord_range, coord_clamp, norm_eps, act, dropout:
            passed to every :class:`EGCL`.
        embed_input: ``True``: a ``Linear(in_node_nf -> F)`` embeds h before the first EGCL.
            ``False``: the first EGCL takes h itself (its input width ``in_node_nf``, no residual),
            as the release's graph autoencoder does.
        node_output: ``False`` when only ``x_out`` is used (needs ``out_node_nf=None``): the last
            layer's node update, which would reach nothing, is not built (see :class:`EGCL`'s
            ``update_nodes``), and ``h_out`` is the input of the last layer's node update.
        coord_decay: shrink ``x <- x - coord_decay * x`` after every layer (1e-3 in the paper's
            graph autoencoder). Nonzero values keep rotation and reflection equivariance but break
            translation equivariance (the origin becomes special).

    Shapes:
        h: [N, in_node_nf]; x: [N, D] for any D; edge_index: [2, E] int64, row 0 the receiver i,
        row 1 the sender j (any graph: :mod:`egnn.graphs` builds fully connected, radius, kNN and
        periodic ones); edge_attr: [E, in_edge_nf]; vel: [N, D]; edge_shift: [E, D] periodic image
        shifts from :func:`egnn.graphs.periodic_radius_graph` (the sender at ``x_j + shift``).
        Returns h_out [N, out_node_nf] (or [N, F]) and x_out [N, D].
    """

    def __init__(
        self,
        in_node_nf: int,
        hidden_nf: int,
        out_node_nf: int | None,
        in_edge_nf: int = 0,
        n_layers: int = 4,
        velocity: bool = False,
        attention: bool = False,
        update_coords: bool = True,
        residual: bool = True,
        coord_agg: str = "mean",
        normalize: bool = False,
        tanh: bool = False,
        coord_range: float = 1.0,
        coord_clamp: float | None = 100.0,
        norm_eps: float = 1e-8,
        act: type[nn.Module] = nn.SiLU,
        coord_decay: float = 0.0,
        dropout: float = 0.0,
        embed_input: bool = True,
        node_output: bool = True,
    ) -> None:
        super().__init__()
        if not 0.0 <= coord_decay < 1.0:
            raise ValueError(f"coord_decay must lie in [0, 1), got {coord_decay!r}")
        self.coord_decay = coord_decay
        for name, value, minimum in (
            ("in_node_nf", in_node_nf, 1),
            ("hidden_nf", hidden_nf, 1),
            ("in_edge_nf", in_edge_nf, 0),
            ("n_layers", n_layers, 1),
        ):
            if int(value) != value or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if not node_output and out_node_nf is not None:
            raise ValueError(
                "node_output=False returns no node features: it needs out_node_nf=None"
            )
        if out_node_nf is not None and out_node_nf < 1:
            raise ValueError(f"out_node_nf must be >= 1 or None, got {out_node_nf!r}")
        self.in_node_nf = in_node_nf
        self.in_edge_nf = in_edge_nf
        self.velocity = velocity
        self.embedding_in = nn.Linear(in_node_nf, hidden_nf) if embed_input else None
        self.layers = nn.ModuleList()
        for layer in range(n_layers):
            # Without the input embedding, the first EGCL reads the raw features: its own input
            # width and no residual.
            reads_hidden = embed_input or layer > 0
            self.layers.append(
                EGCL(
                    hidden_nf,
                    edge_attr_nf=in_edge_nf,
                    act=act,
                    residual=residual and reads_hidden,
                    attention=attention,
                    update_coords=update_coords,
                    velocity=velocity,
                    coord_agg=coord_agg,
                    normalize=normalize,
                    tanh=tanh,
                    coord_range=coord_range,
                    coord_clamp=coord_clamp,
                    norm_eps=norm_eps,
                    dropout=dropout,
                    in_nf=hidden_nf if reads_hidden else in_node_nf,
                    update_nodes=node_output or layer < n_layers - 1,
                )
            )
        self.embedding_out = nn.Linear(hidden_nf, out_node_nf) if out_node_nf is not None else None

    def _check_inputs(
        self, h: Tensor, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None, vel: Tensor | None
    ) -> None:
        if h.dim() != 2 or h.shape[1] != self.in_node_nf:
            raise ValueError(f"h must have shape [N, {self.in_node_nf}], got {list(h.shape)}")
        if x.dim() != 2 or x.shape[0] != h.shape[0]:
            raise ValueError(f"x must have shape [N={h.shape[0]}, D], got {list(x.shape)}")
        if edge_index.dim() != 2 or edge_index.shape[0] != 2 or edge_index.dtype.is_floating_point:
            raise ValueError(
                f"edge_index must be an integer tensor of shape [2, E], got {list(edge_index.shape)} {edge_index.dtype}"
            )
        if self.in_edge_nf > 0:
            if edge_attr is None or edge_attr.shape != (edge_index.shape[1], self.in_edge_nf):
                got = None if edge_attr is None else list(edge_attr.shape)
                raise ValueError(
                    f"edge_attr must have shape [E={edge_index.shape[1]}, {self.in_edge_nf}], got {got}"
                )
        elif edge_attr is not None and edge_attr.numel() > 0:
            raise ValueError("edge_attr was given but the network was built with in_edge_nf=0")
        if self.velocity and (vel is None or vel.shape != x.shape):
            raise ValueError(
                f"velocity=True needs vel of shape {list(x.shape)}, got {None if vel is None else list(vel.shape)}"
            )

    def forward(
        self,
        h: Tensor,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor | None = None,
        vel: Tensor | None = None,
        edge_shift: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        self._check_inputs(h, x, edge_index, edge_attr, vel)
        if edge_shift is not None and edge_shift.shape != (edge_index.shape[1], x.shape[1]):
            raise ValueError(
                f"edge_shift must have shape [E={edge_index.shape[1]}, D={x.shape[1]}], got {list(edge_shift.shape)}"
            )
        if self.in_edge_nf == 0:
            edge_attr = None
        coord_count = segment_count(edge_index[0], x.shape[0], x.dtype)
        if self.embedding_in is not None:
            h = self.embedding_in(h)
        for layer in self.layers:
            h, x = layer(
                h,
                x,
                edge_index,
                edge_attr=edge_attr,
                vel=vel,
                coord_count=coord_count,
                edge_shift=edge_shift,
            )
            if self.coord_decay:
                x = x - self.coord_decay * x
        if self.embedding_out is not None:
            h = self.embedding_out(h)
        return h, x
