"""Physics of the charged-particle simulator, determinism and the atomic dataset cache."""

import re

import numpy as np
import pytest

from egnn.data.nbody import dataset as nbody_dataset
from egnn.data.nbody.dataset import ensure_dataset, generate, is_cached, load_split, split_path
from egnn.data.nbody.simulate import (
    ChargedParticlesConfig,
    coulomb_forces,
    energy,
    initial_conditions,
    reflect_into_box,
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


def test_initial_conditions_follow_the_release_draw_order():
    """System after system: charges, positions and velocities as [D, N] draws, then the two
    [T, D, N] observation-noise draws, so that later systems stay aligned with the release's."""
    cfg = ChargedParticlesConfig()
    pos, vel, charges = initial_conditions(np.random.RandomState(11), 3, cfg)
    rng = np.random.RandomState(11)
    for s in range(3):
        expected_charges = rng.choice([-1.0, 0.0, 1.0], size=(5, 1), p=[0.5, 0.0, 0.5])[:, 0]
        loc = rng.randn(3, 5).T * cfg.loc_std
        direction = rng.randn(3, 5).T
        rng.randn(cfg.n_frames, 3, 5), rng.randn(cfg.n_frames, 3, 5)
        speed = cfg.vel_norm * direction / np.linalg.norm(direction, axis=1, keepdims=True)
        expected_pos, expected_vel = reflect_into_box(loc, speed, cfg.box_size)
        np.testing.assert_array_equal(charges[s], expected_charges)
        np.testing.assert_allclose(pos[s], expected_pos, rtol=0, atol=1e-12)
        np.testing.assert_allclose(vel[s], expected_vel, rtol=0, atol=1e-12)
    assert not np.allclose(vel[:, 0], vel[:, 1])  # each particle its own direction


def test_reflection_mirrors_at_the_walls_and_turns_velocities_inward():
    pos = np.array([[5.3, -5.2, 5.0], [-6.0, 0.5, -5.0]])
    vel = np.array([[1.0, -2.0, 3.0], [-1.5, 0.5, -4.0]])
    new_pos, new_vel = reflect_into_box(pos, vel, 5.0)
    np.testing.assert_allclose(new_pos, [[4.7, -4.8, 5.0], [-4.0, 0.5, -5.0]], atol=1e-12)
    # Mirrored coordinates move inward; one on a wall, or inside, is left alone.
    np.testing.assert_array_equal(new_vel, [[-1.0, 2.0, 3.0], [1.5, 0.5, -4.0]])
    np.testing.assert_array_equal(pos[0], [5.3, -5.2, 5.0])  # inputs are not modified
    inward = reflect_into_box(np.array([[5.5]]), np.array([[-2.0]]), 5.0)[1]
    assert inward[0, 0] == -2.0  # already moving inward: kept


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


def test_forces_scale_with_the_product_of_charges_and_clip_on_both_sides():
    two = np.array([[[0.0, 0, 0], [2.0, 0, 0]]])
    # c0 c1 (x0 - x1) / |x0 - x1|^3 = 2 * -0.5 * -2 / 8: attracted towards +x by 0.25.
    np.testing.assert_allclose(
        coulomb_forces(two, np.array([[2.0, -0.5]]), None)[0, 0], [0.25, 0, 0]
    )
    pos, _, charges = _systems(n=16)
    unclipped = coulomb_forces(pos, charges, None)
    clipped = coulomb_forces(pos, charges, 0.05)
    np.testing.assert_array_equal(clipped, unclipped.clip(-0.05, 0.05))
    assert (unclipped < -0.05).any() and (unclipped > 0.05).any()
    assert (np.abs(unclipped) < 0.05).any()


def test_simulation_clips_forces_and_integrates_in_float64():
    cfg = ChargedParticlesConfig(n_particles=2, n_steps=2, sample_freq=1, force_clip=1.0)
    close = np.array([[[0.0, 0, 0], [1e-2, 0, 0]]])  # unclipped force 1e4
    _, vel = simulate(close, np.zeros_like(close), np.array([[1.0, 1.0]]), cfg)
    np.testing.assert_allclose(vel[0, 0, :, 0], [-cfg.dt, cfg.dt])  # one kick of the clip
    pos, vel, charges = _systems(n=4)
    short = ChargedParticlesConfig(n_steps=201)
    single = simulate(pos.astype(np.float32), vel.astype(np.float32), charges, short)
    double = simulate(
        pos.astype(np.float32).astype(np.float64),
        vel.astype(np.float32).astype(np.float64),
        charges,
        short,
    )
    for a, b in zip(single, double, strict=True):
        assert a.dtype == np.float64
        np.testing.assert_array_equal(a, b)


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
    orphan = path.parent / ".test.npz.abc.tmp"  # a killed writer's leftover
    orphan.write_bytes(b"partial")
    with caplog.at_level("INFO"):
        ensure_dataset(tmp_path, "tiny")
    assert not orphan.exists()
    warning = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"][-1]
    assert warning.startswith(f"N-body cache {path} is damaged or unreadable (")
    assert warning.endswith("): it will be regenerated")
    assert load_split(tmp_path, "tiny", "valid")["pos"].shape[0] == 100


def test_unknown_dataset_name(tmp_path):
    with pytest.raises(ValueError, match="unknown N-body dataset 'huge'"):
        ensure_dataset(tmp_path / "data", "huge")
    assert not (tmp_path / "data").exists()  # refused before any folder or lock is made


def test_cache_layout_and_stored_parameters(tmp_path, caplog):
    """Files at {data_dir}/nbody/{name}/{split}.npz, identified by format, seed, sizes and the
    simulation parameters: a cache made by another version of any of them is regenerated."""
    from egnn.data.npz_cache import read_npz_params

    spec = nbody_dataset.get_spec("tiny")
    assert split_path(tmp_path, "tiny", "valid") == tmp_path / "nbody" / "tiny" / "valid.npz"
    caplog.set_level("INFO", logger="egnn.data.nbody.dataset")
    ensure_dataset(tmp_path, "tiny")
    first, done = caplog.messages
    assert first == f"N-body dataset 'tiny' not cached (or stale) under {tmp_path}: generating it"
    sizes = "{'train': 200, 'valid': 100, 'test': 100}"
    assert re.fullmatch(rf"generated N-body dataset 'tiny' \({sizes}\) in \d+\.\d s", done)
    assert float(done.split()[-2]) < 120  # the seconds of this generation, not a clock reading
    # One lock per dataset, beside its folder: generations of other datasets do not wait.
    assert sorted(p.name for p in (tmp_path / "nbody").iterdir()) == ["tiny", "tiny.lock"]
    stored = read_npz_params(split_path(tmp_path, "tiny", "test"), {"pos"}, "test")
    assert stored == {
        "format": nbody_dataset.FORMAT_VERSION,
        "seed": 7,
        "sizes": {"train": 200, "valid": 100, "test": 100},
        "sim": spec.sim.as_dict(),
    }
    with pytest.raises(ValueError, match=r"^unknown split 'val'; choose one of \('train', 'valid'"):
        load_split(tmp_path, "tiny", "val")
    with pytest.raises(
        FileNotFoundError, match=rf"call ensure_dataset\('{tmp_path / 'elsewhere'}', 'tiny'\)$"
    ):
        load_split(tmp_path / "elsewhere", "tiny", "train")


def test_pickled_arrays_in_a_cache_are_never_loaded(tmp_path):
    """A split with the right parameters but an object array (unpickling can run code) is refused."""
    from egnn.data.npz_cache import write_npz

    path = split_path(tmp_path, "tiny", "train")
    path.parent.mkdir(parents=True)
    arrays = {
        "pos": np.array([None, 1.0], dtype=object),
        "vel": np.zeros(2),
        "charges": np.zeros(2),
    }
    write_npz(path, nbody_dataset.get_spec("tiny").params(), **arrays)
    with pytest.raises(ValueError, match="allow_pickle=False"):
        load_split(tmp_path, "tiny", "train")
