"""Physics of the charged-particle simulator, determinism and the atomic dataset cache."""

import numpy as np
import pytest

from egnn.data.nbody import dataset as nbody_dataset
from egnn.data.nbody.dataset import ensure_dataset, generate, is_cached, load_split, split_path
from egnn.data.nbody.simulate import (
    ChargedParticlesConfig,
    coulomb_forces,
    energy,
    initial_conditions,
    simulate,
)


def _systems(n=64, seed=0, cfg=None):
    return initial_conditions(np.random.RandomState(seed), n, cfg or ChargedParticlesConfig())


def test_initial_conditions():
    pos, vel, charges = _systems()
    assert pos.shape == vel.shape == (64, 5, 3) and charges.shape == (64, 5)
    np.testing.assert_allclose(np.linalg.norm(vel, axis=-1), 0.5, atol=1e-12)
    assert set(np.unique(charges)) == {-1.0, 1.0}
    assert np.abs(pos).max() <= 5.0


def test_forces_match_pairwise_coulomb_and_repel_like_charges():
    pos, _, charges = _systems(n=4)
    forces = coulomb_forces(pos, charges, force_clip=None)
    expected = np.zeros_like(pos)
    for s in range(4):
        for i in range(5):
            for j in range(5):
                if i != j:
                    r = pos[s, i] - pos[s, j]
                    expected[s, i] += charges[s, i] * charges[s, j] * r / np.linalg.norm(r) ** 3
    np.testing.assert_allclose(forces, expected, rtol=1e-12, atol=1e-12)
    two = np.array([[[0.0, 0, 0], [1.0, 0, 0]]])
    assert coulomb_forces(two, np.array([[1.0, 1.0]]), None)[0, 0, 0] < 0  # pushed away from +x
    assert coulomb_forces(two, np.array([[1.0, -1.0]]), None)[0, 0, 0] > 0  # pulled towards +x
    close = np.array([[[0.0, 0, 0], [1e-3, 0, 0]]])
    assert np.abs(coulomb_forces(close, np.array([[1.0, 1.0]]), 100.0)).max() == 100.0


def test_energy_and_momentum_conserved_without_clipping():
    """Leapfrog conserves momentum exactly and energy to O(dt^2) away from close encounters."""
    cfg = ChargedParticlesConfig(n_steps=2001, sample_freq=100, force_clip=None, loc_std=3.0)
    pos, vel, charges = _systems(n=256, seed=1, cfg=cfg)
    pos_f, vel_f = simulate(pos, vel, charges, cfg)
    # Keep systems whose particles never come closer than 0.5 (no near-collisions).
    diff = pos_f[:, :, :, None] - pos_f[:, :, None]
    dist = np.linalg.norm(diff, axis=-1) + np.eye(5) * 1e9
    calm = dist.min(axis=(1, 2, 3)) > 0.5
    assert calm.sum() > 100
    momentum = vel_f.sum(axis=2)
    np.testing.assert_allclose(momentum[:, -1], momentum[:, 0], atol=1e-12)
    # Saved velocities are half-step ones: compare energies at synchronised velocities.
    f0 = coulomb_forces(pos_f[:, 0], charges, None)
    f1 = coulomb_forces(pos_f[:, -1], charges, None)
    e0 = energy(pos_f[:, 0], vel_f[:, 0] + 0.5 * cfg.dt * f0, charges)
    e1 = energy(pos_f[:, -1], vel_f[:, -1] + 0.5 * cfg.dt * f1, charges)
    drift = np.abs(e1 - e0)[calm] / np.abs(e0[calm]).clip(min=0.1)
    assert drift.max() < 1e-4, drift.max()


def test_saved_frame_reintegrated_reproduces_the_next_frame():
    cfg = ChargedParticlesConfig(n_steps=1001)
    pos, vel, charges = _systems(n=32)
    pos_f, vel_f = simulate(pos, vel, charges, cfg)
    assert pos_f.shape == (32, 10, 5, 3)
    one_frame = ChargedParticlesConfig(n_steps=cfg.sample_freq + 1)
    for k in (0, 4, 8):
        pos_next, vel_next = simulate(pos_f[:, k], vel_f[:, k], charges, one_frame)
        np.testing.assert_allclose(pos_next[:, 0], pos_f[:, k + 1], rtol=0, atol=1e-12)
        np.testing.assert_allclose(vel_next[:, 0], vel_f[:, k + 1], rtol=0, atol=1e-12)


def test_paper_frame_count():
    assert ChargedParticlesConfig().n_frames == 49
    with pytest.raises(ValueError, match="n_steps"):
        ChargedParticlesConfig(n_steps=50, sample_freq=100)


def test_config_limits_are_named():
    for name in ("n_particles", "dim", "n_steps", "sample_freq"):
        with pytest.raises(ValueError, match=f"^{name} must be >= 1, got 0$"):
            ChargedParticlesConfig(**{name: 0})
    one = ChargedParticlesConfig(n_particles=1, dim=1, n_steps=2, sample_freq=1)
    assert one.n_frames == 1  # the smallest valid simulation keeps one frame
    with pytest.raises(ValueError, match=r"^n_steps=100 must exceed sample_freq=100 \(no frame"):
        ChargedParticlesConfig(n_steps=100, sample_freq=100)


def test_energy_by_hand_with_unequal_charges():
    """Kinetic sum |v|^2 / 2 plus c_i c_j / r_ij over pairs, with charges other than +-1."""
    pos = np.array([[[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 4.0, 0.0]]])
    vel = np.array([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0]]])
    charges = np.array([[2.0, 3.0, -0.5]])
    r12, r13, r23 = 2.0, 4.0, np.sqrt(20.0)
    expected = 0.5 * (1 + 4) + 2 * 3 / r12 + 2 * -0.5 / r13 + 3 * -0.5 / r23
    np.testing.assert_allclose(energy(pos, vel, charges), [expected], rtol=1e-14)


def test_generation_is_deterministic_and_cached(tmp_path, nbody_data_dir):
    generate(tmp_path, "tiny")
    for split in ("train", "valid", "test"):
        a, b = load_split(tmp_path, "tiny", split), load_split(nbody_data_dir, "tiny", split)
        for key in ("pos", "vel", "charges"):
            np.testing.assert_array_equal(a[key], b[key])
    train = load_split(tmp_path, "tiny", "train")
    assert train["pos"].shape == (200, 41, 5, 3) and train["charges"].shape == (200, 5)
    # The splits come from one stream: they differ from each other.
    assert not np.allclose(train["pos"][:100], load_split(tmp_path, "tiny", "valid")["pos"])
    assert is_cached(tmp_path, "tiny")


def test_interrupted_generation_leaves_no_complete_looking_file(tmp_path, monkeypatch):
    real_savez = np.savez
    calls = []

    def failing_savez(handle, **arrays):
        calls.append(1)
        if len(calls) == 2:  # die while writing the second split
            handle.write(b"partial bytes")
            raise KeyboardInterrupt
        real_savez(handle, **arrays)

    monkeypatch.setattr(nbody_dataset.np, "savez", failing_savez)
    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path, "tiny")
    folder = split_path(tmp_path, "tiny", "train").parent
    # no temp file, no valid.npz; the finished split has its checksum
    assert sorted(p.name for p in folder.iterdir()) == ["train.npz", "train.npz.sha256"]
    assert not is_cached(tmp_path, "tiny")
    monkeypatch.setattr(nbody_dataset.np, "savez", real_savez)
    ensure_dataset(tmp_path, "tiny")
    assert is_cached(tmp_path, "tiny")


def test_truncated_or_stale_cache_is_regenerated(tmp_path, caplog):
    generate(tmp_path, "tiny")
    path = split_path(tmp_path, "tiny", "valid")
    path.write_bytes(path.read_bytes()[:1000])
    assert not is_cached(tmp_path, "tiny")
    with pytest.raises(FileNotFoundError, match="missing or stale"):
        load_split(tmp_path, "tiny", "valid")
    with caplog.at_level("INFO"):
        ensure_dataset(tmp_path, "tiny")
    assert "unreadable" in caplog.text and "regenerated" in caplog.text
    assert load_split(tmp_path, "tiny", "valid")["pos"].shape[0] == 100


def test_unknown_dataset_name(tmp_path):
    with pytest.raises(ValueError, match="unknown N-body dataset 'huge'"):
        ensure_dataset(tmp_path / "data", "huge")
    assert not (tmp_path / "data").exists()  # refused before any folder or lock is made
