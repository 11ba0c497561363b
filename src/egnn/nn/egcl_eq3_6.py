"""The E(n) equivariant graph convolutional layer (EGCL) of Satorras et al. (2021): the paper's
equations 3-6 (and 7, 8: velocity and edge inference), in this one file.

:func:`pair_linear` is the first layer of :math:`\\phi_e` (eq. 3) evaluated per node instead of per
edge; :class:`EGCL` names its steps after the equations: :meth:`EGCL.edge_model` (3, 8),
:meth:`EGCL.coord_model` (4, 7) and :meth:`EGCL.node_model` (5, 6).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from egnn.errors import ConfigError
from egnn.nn.segment import segment_mean, segment_sum

COORD_AGGREGATIONS = ("mean", "sum")


FLOAT16_MAX = torch.finfo(torch.float16).max


def check_half_precision_range(radial: Tensor) -> None:
    """Refuse squared distances that float16 cannot hold, under float16 autocast.

    Coordinates, distances and coordinate updates stay in float32 under autocast (elementwise
    ops), but the squared distance also enters the edge MLP, whose matmul autocast runs in
    float16: past 65504 it would become Inf and the loss NaN, silently. Shapes: radial [E, 1].
    """
    device = radial.device.type
    if not (
        torch.is_autocast_enabled(device) and torch.get_autocast_dtype(device) == torch.float16
    ):
        return
    largest = float(radial.detach().max()) if radial.numel() else 0.0
    if largest > FLOAT16_MAX:
        raise ConfigError(
            f"squared distances reach {largest:.3g}, beyond float16's range ({FLOAT16_MAX:.0f}):"
            " use trainer.precision=bf16-mixed or 32, or rescale the coordinates"
        )


def pair_linear(
    layer: nn.Linear, h: Tensor, edge_index: Tensor, edge_scalars: Tensor | None
) -> Tensor:
    r"""``layer([h_i, h_j, s_ij])`` for every edge, computed as :math:`W_1 h_i + W_2 h_j + W_s s_{ij} + b`.

    The node terms are projected once per node ([N, F] work instead of [E, F]) and then gathered;
    the result equals the concatenated layer up to floating-point rounding.

    Args:
        layer: ``nn.Linear(2F + S, F_out)`` whose input is the concatenation.
        h: node features [N, F].
        edge_index: [2, E], row 0 the receiver i, row 1 the sender j.
        edge_scalars: per-edge inputs [E, S] (None when S = 0).

    Returns:
        [E, F_out].
    """
    nf = h.shape[1]
    weight = layer.weight  # [F_out, 2F + S]
    # One matmul for both node projections: [N, 2 F_out] = [W1 h | W2 h].
    node_proj = F.linear(h, torch.cat([weight[:, :nf], weight[:, nf : 2 * nf]], dim=0))
    out_nf = weight.shape[0]
    receiver, sender = node_proj[:, :out_nf], node_proj[:, out_nf:]
    gathered = receiver.index_select(0, edge_index[0]) + sender.index_select(0, edge_index[1])
    if edge_scalars is None:
        return gathered if layer.bias is None else gathered + layer.bias
    bias = layer.bias if layer.bias is not None else weight.new_zeros(out_nf)
    return torch.addmm(bias, edge_scalars, weight[:, 2 * nf :].t()) + gathered


class MessageNodeMLPs(nn.Module):
    r"""The invariant half of the EGCL, shared with the GNN baseline's layer: the message MLP
    :math:`\phi_e` on :math:`[h_i, h_j, s_{ij}]` (eq. 3), the optional edge gate (eq. 8), and the
    node update :math:`h_i' = h_i + \phi_h(h_i, \sum_j m_{ij})` (eqs. 5, 6).

    Args:
        hidden_nf: node feature size F (output, and input unless ``in_nf`` is given).
        scalar_nf: size S of the per-edge scalars :math:`s_{ij}` fed to :math:`\phi_e`.
        act: activation module class.
        residual: add :math:`h_i` in the node update (needs ``in_nf == hidden_nf``).
        attention: gate messages by :math:`\sigma(\mathrm{Linear}(m_{ij}))`.
        in_nf: input node feature size F_in (default F).

    Shapes:
        h: [N, F_in]; edge_index: [2, E]; scalars: [E, S] (None when S = 0); messages [E, F].
    """

    def __init__(
        self,
        hidden_nf: int,
        scalar_nf: int,
        act: type[nn.Module],
        residual: bool,
        attention: bool,
        in_nf: int | None = None,
    ) -> None:
        super().__init__()
        in_nf = hidden_nf if in_nf is None else in_nf
        if residual and in_nf != hidden_nf:
            raise ValueError(
                f"residual=True adds the input to the output, so it needs in_nf == hidden_nf;"
                f" got in_nf={in_nf}, hidden_nf={hidden_nf}"
            )
        self.residual = residual
        self.edge_mlp = nn.Sequential(
            nn.Linear(2 * in_nf + scalar_nf, hidden_nf),
            act(),
            nn.Linear(hidden_nf, hidden_nf),
            act(),
        )
        self.att_mlp = nn.Sequential(nn.Linear(hidden_nf, 1), nn.Sigmoid()) if attention else None
        self.node_mlp = nn.Sequential(
            nn.Linear(in_nf + hidden_nf, hidden_nf), act(), nn.Linear(hidden_nf, hidden_nf)
        )

    def messages(self, h: Tensor, edge_index: Tensor, scalars: Tensor | None) -> Tensor:
        """Messages :math:`m_{ij}` (eq. 3, gated by eq. 8 with attention). Returns [E, F]."""
        m = self.edge_mlp[1:](pair_linear(self.edge_mlp[0], h, edge_index, scalars))
        return m * self.att_mlp(m) if self.att_mlp is not None else m

    def node_model(self, h: Tensor, edge_index: Tensor, m: Tensor) -> Tensor:
        r""":math:`h_i' = h_i + \phi_h(h_i, m_i)` with :math:`m_i = \sum_j m_{ij}` (eqs. 5, 6). Returns [N, F]."""
        out = self.node_mlp(torch.cat([h, segment_sum(m, edge_index[0], h.shape[0])], dim=1))
        return h + out if self.residual else out


class EGCL(MessageNodeMLPs):
    r"""E(n) equivariant graph convolutional layer.

    For every directed edge (i receives from j), with :math:`d_{ij} = \|x_i - x_j\|^2`:

    .. math::
        m_{ij} &= \phi_e(h_i, h_j, d_{ij}, a_{ij})                                 && \text{(3)} \\
        x_i' &= x_i + C \sum_{j} (x_i - x_j)\, \phi_x(m_{ij})                      && \text{(4)} \\
        m_i &= \sum_{j} m_{ij}                                                     && \text{(5)} \\
        h_i' &= h_i + \phi_h(h_i, m_i)                                             && \text{(6)}

    With ``attention=True`` (edge inference, eq. 8) :math:`m_{ij} \leftarrow m_{ij}\,
    \sigma(\phi_{inf}(m_{ij}))`. With ``velocity=True`` (eq. 7) the coordinate update becomes
    :math:`v_i' = \phi_v(h_i) v_i + C \sum_j (x_i - x_j) \phi_x(m_{ij})`, :math:`x_i' = x_i + v_i'`,
    where :math:`v_i` is the velocity given to the layer. :math:`C = 1/\deg(i)` for
    ``coord_agg="mean"`` and :math:`C = 1` for ``"sum"``.

    The first linear layer of :math:`\phi_e` acts on the concatenation :math:`[h_i, h_j, d_{ij},
    a_{ij}]`; it is evaluated as :math:`W_1 h_i + W_2 h_j + w_d d_{ij} + W_a a_{ij} + b`, with the
    node projections computed once per node instead of once per edge. The parameters are those of
    the concatenated layer, so the result is the same function.

    Args:
        hidden_nf: node feature size F (output, and input unless ``in_nf`` is given).
        edge_attr_nf: size A of the edge attributes :math:`a_{ij}` (0 for none).
        act: activation module class (default SiLU).
        residual: add :math:`h_i` to :math:`\phi_h` (eq. 6); on in all paper runs.
        attention: edge inference gate on the messages (eq. 8).
        update_coords: update coordinates; off gives an E(n)-invariant layer that returns x as is.
        velocity: velocity variant (eq. 7); ``forward`` then needs ``vel``.
        coord_agg: ``"mean"`` or ``"sum"`` aggregation of the coordinate messages.
        normalize: divide :math:`x_i - x_j` by its norm (plus ``norm_eps``) in eq. 4.
        tanh: squash :math:`\phi_x` with tanh and scale by ``coord_range``.
        coord_range: scale of the tanh output (only with ``tanh=True``).
        coord_clamp: clamp each per-edge coordinate message elementwise to
            ``[-coord_clamp, coord_clamp]`` (the release uses 100); ``None`` disables it.
        norm_eps: added under the square root with ``normalize`` (no NaN gradient at zero distance).
        dropout: probability of zeroing each message feature :math:`m_{ij}` in training (a
            regulariser; the masks are E(n)-invariant, and evaluation is deterministic).
        in_nf: input node feature size F_in (default F; another size needs ``residual=False``
            and no velocity): a first layer fed the raw node features, as in the release's graph
            autoencoder.
        update_nodes: compute :math:`h_i'` (eq. 6). Off for a last layer whose node features
            nothing reads (only its coordinates are used): :math:`\phi_h` is then not built, so
            no parameter goes without a gradient (what distributed training requires), and
            ``forward`` returns ``h`` unchanged.

    Shapes:
        h: [N, F_in]; x: [N, D]; edge_index: [2, E]; edge_attr: [E, A]; vel: [N, D];
        coord_count: [N, 1] (optional precomputed in-degree, clamped to >= 1); edge_shift: [E, D]
        (optional periodic image shift: the sender sits at ``x_j + edge_shift``, so
        :math:`x_i - x_j` becomes :math:`x_i - x_j - \mathrm{shift}_{ij}`).
        Returns h' [N, F] and x' [N, D].
    """

    def __init__(
        self,
        hidden_nf: int,
        edge_attr_nf: int = 0,
        act: type[nn.Module] = nn.SiLU,
        residual: bool = True,
        attention: bool = False,
        update_coords: bool = True,
        velocity: bool = False,
        coord_agg: str = "mean",
        normalize: bool = False,
        tanh: bool = False,
        coord_range: float = 1.0,
        coord_clamp: float | None = 100.0,
        norm_eps: float = 1e-8,
        dropout: float = 0.0,
        in_nf: int | None = None,
        update_nodes: bool = True,
    ) -> None:
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
        if coord_agg not in COORD_AGGREGATIONS:
            raise ValueError(f"coord_agg must be one of {COORD_AGGREGATIONS}, got {coord_agg!r}")
        if velocity and not update_coords:
            raise ValueError(
                "velocity=True needs update_coords=True (the velocity moves the coordinates)"
            )
        if velocity and in_nf not in (None, hidden_nf):
            raise ValueError(
                f"velocity=True reads the input features with a width-{hidden_nf} MLP, so it needs"
                f" in_nf == hidden_nf; got in_nf={in_nf}"
            )
        # phi_e (eq. 3) on [h_i, h_j, d_ij, a_ij]; the edge gate phi_inf (eq. 8); phi_h (eq. 6).
        super().__init__(hidden_nf, 1 + edge_attr_nf, act, residual, attention, in_nf)
        if not update_nodes:  # built, then dropped: later layers draw the same initial weights
            self.node_mlp = None
        self.hidden_nf = hidden_nf
        self.update_coords = update_coords
        self.velocity = velocity
        self.coord_agg = coord_agg
        self.normalize = normalize
        self.tanh = tanh
        self.coord_range = coord_range
        self.coord_clamp = coord_clamp
        self.norm_eps = norm_eps
        self.message_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

        if update_coords:
            last = nn.Linear(hidden_nf, 1, bias=False)
            nn.init.xavier_uniform_(last.weight, gain=0.001)
            self.coord_mlp = nn.Sequential(nn.Linear(hidden_nf, hidden_nf), act(), last)
        else:
            self.coord_mlp = None
        self.vel_mlp = (
            nn.Sequential(nn.Linear(hidden_nf, hidden_nf), act(), nn.Linear(hidden_nf, 1))
            if velocity
            else None
        )

    def edge_model(
        self, h: Tensor, edge_index: Tensor, radial: Tensor, edge_attr: Tensor | None
    ) -> Tensor:
        """Messages :math:`m_{ij}` (eq. 3, gated by eq. 8 with attention). Returns [E, F]."""
        scalars = radial if edge_attr is None else torch.cat([radial, edge_attr], dim=1)
        return self.messages(h, edge_index, scalars)

    def coord_model(
        self,
        coord_diff: Tensor,
        edge_index: Tensor,
        m: Tensor,
        n_nodes: int,
        coord_count: Tensor | None,
    ) -> Tensor:
        """Aggregated coordinate message :math:`C \\sum_j (x_i - x_j) \\phi_x(m_{ij})` (eq. 4). Returns [N, D]."""
        weight = self.coord_mlp(m)
        if self.tanh:
            weight = torch.tanh(weight) * self.coord_range
        trans = coord_diff * weight
        if self.coord_clamp is not None:
            trans = trans.clamp(-self.coord_clamp, self.coord_clamp)
        if self.coord_agg == "sum":
            return segment_sum(trans, edge_index[0], n_nodes)
        return segment_mean(trans, edge_index[0], n_nodes, count=coord_count)

    def forward(
        self,
        h: Tensor,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor | None = None,
        vel: Tensor | None = None,
        coord_count: Tensor | None = None,
        edge_shift: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        row, col = edge_index[0], edge_index[1]
        coord_diff = x.index_select(0, row) - x.index_select(0, col)
        if edge_shift is not None:
            coord_diff = coord_diff - edge_shift
        radial = (coord_diff * coord_diff).sum(dim=1, keepdim=True)
        check_half_precision_range(radial)
        m = self.message_dropout(self.edge_model(h, edge_index, radial, edge_attr))
        if self.update_coords:
            if self.normalize:
                coord_diff = coord_diff / torch.sqrt(radial + self.norm_eps)
            delta = self.coord_model(coord_diff, edge_index, m, h.shape[0], coord_count)
            if self.velocity:
                delta = delta + self.vel_mlp(h) * vel
            x = x + delta
        if self.node_mlp is not None:
            h = self.node_model(h, edge_index, m)
        return h, x
