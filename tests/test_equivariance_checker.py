"""The checker itself: it must accept equivariant maps and reject each kind of violation."""

import pytest
import torch

from egnn.testing import (
    EDGE_INDEX,
    NODE_SCALAR,
    POSITION,
    VECTOR,
    assert_equivariant,
    equivariance_errors,
    random_orthogonal,
)

KINDS = {"x": POSITION, "v": VECTOR, "h": NODE_SCALAR}


def _inputs(n=6, d=3):
    g = torch.Generator().manual_seed(1)
    return {
        "x": torch.randn(n, d, generator=g, dtype=torch.float64),
        "v": torch.randn(n, d, generator=g, dtype=torch.float64),
        "h": torch.randn(n, 2, generator=g, dtype=torch.float64),
    }


def equivariant_map(x, v, h):
    centred = x - x.mean(0)
    scale = centred.pow(2).sum(1, keepdim=True) * h[:, :1]
    return x + scale * v, scale


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("reflection", [False, True])
def test_random_orthogonal(d, reflection):
    q = random_orthogonal(d, reflection, torch.Generator().manual_seed(0))
    assert torch.allclose(q @ q.t(), torch.eye(d, dtype=q.dtype), atol=1e-12)
    assert torch.det(q).item() == pytest.approx(-1.0 if reflection else 1.0)


@pytest.mark.parametrize("d", [2, 3])
def test_accepts_equivariant_map(d):
    errors = assert_equivariant(
        equivariant_map, _inputs(d=d), KINDS, (POSITION, NODE_SCALAR), atol=1e-10
    )
    assert set(errors) == {"rotation", "reflection", "translation", "permutation", "all"}


def test_rejects_fixed_direction():
    """Adding a constant vector breaks rotations (but not translations)."""

    def broken(x, v, h):
        return x + torch.tensor([1.0, 0.0, 0.0], dtype=x.dtype)

    errors = equivariance_errors(broken, _inputs(), KINDS, (POSITION,))
    assert errors["rotation"] > 0.1 and errors["reflection"] > 0.1
    assert errors["translation"] < 1e-12
    with pytest.raises(AssertionError, match="rotation"):
        assert_equivariant(broken, _inputs(), KINDS, (POSITION,))


def test_velocities_rotate_but_do_not_translate():
    def velocity(x, v, h):
        return v

    assert_equivariant(velocity, _inputs(), KINDS, (VECTOR,), atol=1e-12)
    # Declared as a position, the same output must fail the translation check.
    errors = equivariance_errors(velocity, _inputs(), KINDS, (POSITION,))
    assert errors["translation"] > 0.1 and errors["rotation"] < 1e-12


def test_sees_reflections():
    """A cross product is rotation-equivariant but flips sign under reflections (a pseudovector)."""

    def chiral(x, v, h):
        return x + torch.linalg.cross(x - x.mean(0), v)

    errors = equivariance_errors(chiral, _inputs(), KINDS, (POSITION,))
    assert errors["rotation"] < 1e-10
    assert errors["reflection"] > 0.1
    with pytest.raises(AssertionError, match="reflection"):
        assert_equivariant(
            chiral, _inputs(), KINDS, (POSITION,), transforms=("rotation", "reflection")
        )


def test_sees_permutations_and_edge_relabelling():
    def order_dependent(x, v, h):
        return x + torch.arange(x.shape[0], dtype=x.dtype)[:, None] * v

    assert equivariance_errors(order_dependent, _inputs(), KINDS, (POSITION,))["permutation"] > 0.1

    edge_index = torch.tensor([[0, 1, 2], [1, 2, 0]])

    def message(x, v, h, edge_index):
        out = torch.zeros_like(x)
        return x + out.index_add(0, edge_index[0], x[edge_index[0]] - x[edge_index[1]])

    inputs = {**_inputs(n=3), "edge_index": edge_index}
    assert_equivariant(
        message, inputs, {**KINDS, "edge_index": EDGE_INDEX}, (POSITION,), atol=1e-10
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown transforms"):
        equivariance_errors(
            equivariant_map, _inputs(), KINDS, (POSITION, NODE_SCALAR), transforms=("shear",)
        )
    with pytest.raises(ValueError, match="outputs"):
        equivariance_errors(equivariant_map, _inputs(), KINDS, (POSITION,))
