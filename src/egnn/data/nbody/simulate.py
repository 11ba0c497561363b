"""Charged-particle simulator (after Kipf et al., 2018), vectorised over simulations.

Physics: unit masses, charges c in {+1, -1}, force on i is ``sum_j c_i c_j (x_i - x_j) / |x_i - x_j|^3``
(like charges repel), each component clipped to ``[-force_clip, force_clip]``. Integration with
step ``dt``: one kick ``v += dt F(x)`` before the loop, then per step ``x += dt v``, a frame is saved
every ``sample_freq`` steps (frame k is the state after ``(k + 1) * sample_freq`` steps; the saved
velocity is the one that moved the particles in that step), then ``v += dt F(x)``.

Shapes (numpy, float64):
    pos, vel: [S, N, D] for S simulations of N particles in D dimensions; charges: [S, N].
    Trajectories: [S, T, N, D] with T = (n_steps - 1) // sample_freq saved frames (49 by default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChargedParticlesConfig:
    """Simulation parameters (defaults: the paper's N-body data).

    Args:
        n_particles: particles per system.
        dim: spatial dimensions.
        n_steps: integration steps per trajectory.
        sample_freq: steps between saved frames.
        dt: time step.
        loc_std: std of the initial positions (per coordinate).
        vel_norm: norm of every initial velocity (random direction).
        box_size: the initial state is reflected into ``[-box_size, box_size]``; no walls later.
        force_clip: clip of each force component; ``None`` disables it.
    """

    n_particles: int = 5
    dim: int = 3
    n_steps: int = 5000
    sample_freq: int = 100
    dt: float = 1e-3
    loc_std: float = 1.0
    vel_norm: float = 0.5
    box_size: float = 5.0
    force_clip: float | None = 100.0

    def __post_init__(self) -> None:
        for name in ("n_particles", "dim", "n_steps", "sample_freq"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_steps <= self.sample_freq:
            raise ValueError(
                f"n_steps={self.n_steps} must exceed sample_freq={self.sample_freq} (no frame saved)"
            )

    @property
    def n_frames(self) -> int:
        """Number of saved frames per trajectory (steps 1 .. n_steps - 1 divisible by sample_freq)."""
        return (self.n_steps - 1) // self.sample_freq

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


CHARGE_TYPES = np.array([-1.0, 0.0, 1.0])
CHARGE_PROBS = np.array([0.5, 0.0, 0.5])


def initial_conditions(rng: np.random.RandomState, n_sims: int, cfg: ChargedParticlesConfig):
    """Draw the initial state of ``n_sims`` systems from ``rng``, one system after another.

    The draws per system follow the order of the paper's release (charges over {-1, 0, +1} with
    probabilities {1/2, 0, 1/2}; positions and velocities as [D, N] normal draws; then the two
    observation-noise draws of shape [T, D, N] that the release makes with zero noise), so that a
    ``RandomState`` seeded like the release's generator yields the same initial conditions.

    Returns:
        pos [S, N, D], vel [S, N, D] (each velocity of norm ``vel_norm``), charges [S, N].
    """
    n, d = cfg.n_particles, cfg.dim
    pos = np.empty((n_sims, n, d))
    vel = np.empty((n_sims, n, d))
    charges = np.empty((n_sims, n))
    for s in range(n_sims):
        charges[s] = rng.choice(CHARGE_TYPES, size=(n, 1), p=CHARGE_PROBS)[:, 0]
        pos[s] = (rng.randn(d, n) * cfg.loc_std).T
        vel[s] = rng.randn(d, n).T
        rng.randn(cfg.n_frames, d, n)  # the release's zero observation noise on positions...
        rng.randn(cfg.n_frames, d, n)  # ...and on velocities: drawn to keep the stream aligned
    vel = vel * cfg.vel_norm / np.sqrt((vel**2).sum(axis=-1, keepdims=True))
    pos, vel = reflect_into_box(pos, vel, cfg.box_size)
    return pos, vel, charges


def reflect_into_box(pos: np.ndarray, vel: np.ndarray, box_size: float):
    """Mirror coordinates outside ``[-box_size, box_size]`` back inside, velocities pointing inward."""
    pos, vel = pos.copy(), vel.copy()
    over, under = pos > box_size, pos < -box_size
    pos[over] = 2 * box_size - pos[over]
    vel[over] = -np.abs(vel[over])
    pos[under] = -2 * box_size - pos[under]
    vel[under] = np.abs(vel[under])
    return pos, vel


class _PairForces:
    """Coulomb forces of every system at once, over the N(N-1)/2 unordered pairs.

    Works in the layout [N, D, S] (simulations last and contiguous) so that each step is a few
    large vector operations; pair differences and the scatter back to particles are small matmuls
    with the pair incidence matrix.
    """

    def __init__(self, charges: np.ndarray, force_clip: float | None) -> None:
        n = charges.shape[1]
        first, second = np.triu_indices(n, k=1)
        incidence = np.zeros((len(first), n))  # [P, N]: +1 at i, -1 at j
        incidence[np.arange(len(first)), first] = 1.0
        incidence[np.arange(len(first)), second] = -1.0
        self.incidence = incidence
        self.scatter = incidence.T.copy()  # [N, P]: pair force +f on i, -f on j
        self.coupling = (charges[:, first] * charges[:, second]).T.copy()  # [P, S]
        self.force_clip = force_clip

    def __call__(self, pos_nds: np.ndarray) -> np.ndarray:
        n, d, s = pos_nds.shape
        diff = (self.incidence @ pos_nds.reshape(n, d * s)).reshape(-1, d, s)  # [P, D, S]
        dist2 = np.einsum("pds,pds->ps", diff, diff)
        scale = self.coupling / (dist2 * np.sqrt(dist2))  # [P, S]
        pair_forces = diff * scale[:, None, :]
        forces = (self.scatter @ pair_forces.reshape(-1, d * s)).reshape(n, d, s)
        if self.force_clip is not None:
            np.clip(forces, -self.force_clip, self.force_clip, out=forces)
        return forces


def coulomb_forces(pos: np.ndarray, charges: np.ndarray, force_clip: float | None) -> np.ndarray:
    """Force on every particle, [S, N, D], from positions [S, N, D] and charges [S, N]."""
    forces = _PairForces(charges, force_clip)(np.ascontiguousarray(pos.transpose(1, 2, 0)))
    return forces.transpose(2, 0, 1)


def simulate(pos: np.ndarray, vel: np.ndarray, charges: np.ndarray, cfg: ChargedParticlesConfig):
    """Integrate systems from their state and save every ``cfg.sample_freq``-th step.

    A saved frame ``(x_k, v_k)`` given back to ``simulate`` with ``n_steps = sample_freq + 1``
    reproduces frame ``k + 1`` as its first frame.

    Returns:
        pos_frames, vel_frames: [S, T, N, D] with T = ``cfg.n_frames``.
    """
    force = _PairForces(np.asarray(charges, dtype=np.float64), cfg.force_clip)
    frames_shape = (cfg.n_frames, cfg.n_particles, cfg.dim, pos.shape[0])
    pos_frames = np.empty(frames_shape)
    vel_frames = np.empty(frames_shape)
    x = np.ascontiguousarray(np.transpose(pos, (1, 2, 0)), dtype=np.float64)  # [N, D, S]
    v = np.ascontiguousarray(np.transpose(vel, (1, 2, 0)), dtype=np.float64)
    v += cfg.dt * force(x)
    frame = 0
    for step in range(1, cfg.n_steps):
        x += cfg.dt * v
        if step % cfg.sample_freq == 0:
            pos_frames[frame], vel_frames[frame] = x, v
            frame += 1
        v += cfg.dt * force(x)
    return pos_frames.transpose(3, 0, 1, 2).copy(), vel_frames.transpose(3, 0, 1, 2).copy()


def energy(pos: np.ndarray, vel: np.ndarray, charges: np.ndarray) -> np.ndarray:
    """Total energy per system, [S]: kinetic ``sum |v|^2 / 2`` plus ``sum_{i<j} c_i c_j / r_ij``."""
    kinetic = 0.5 * np.einsum("snd,snd->s", vel, vel)
    diff = pos[:, :, None, :] - pos[:, None, :, :]
    dist = np.sqrt(np.einsum("sijd,sijd->sij", diff, diff))
    iu = np.triu_indices(pos.shape[1], k=1)
    pair = charges[:, :, None] * charges[:, None, :]
    potential = (pair[:, iu[0], iu[1]] / dist[:, iu[0], iu[1]]).sum(axis=1)
    return kinetic + potential
