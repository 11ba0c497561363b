"""The 12 QM9 targets of the paper: source columns, units and atom reference values."""

from __future__ import annotations

from dataclasses import dataclass

from egnn.errors import ConfigError

HARTREE_TO_MEV = 27.2114 * 1000.0  # 1 hartree = 27.2114 eV
ELEMENTS = ("H", "C", "N", "O", "F")
ATOMIC_NUMBERS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}

# Per-atom reference values (QM9 "atomref"): energies in hartree, Cv in cal/mol K.
ATOMREF = {
    "U0": {"H": -0.500273, "C": -37.846772, "N": -54.583861, "O": -75.064579, "F": -99.718730},
    "U": {"H": -0.498857, "C": -37.845355, "N": -54.582445, "O": -75.063163, "F": -99.717314},
    "H": {"H": -0.497912, "C": -37.844411, "N": -54.581501, "O": -75.062219, "F": -99.716370},
    "G": {"H": -0.510927, "C": -37.861317, "N": -54.598897, "O": -75.079532, "F": -99.733544},
    "Cv": dict.fromkeys(ELEMENTS, 2.981),
    "zpve": dict.fromkeys(ELEMENTS, 0.0),
}


@dataclass(frozen=True)
class Target:
    """A property: its qm9pack column, the unit we report, the factor from the column's unit
    (applied after subtracting the atom references, which are in the column's unit)."""

    column: str
    unit: str
    scale: float = 1.0


TARGETS: dict[str, Target] = {
    "alpha": Target("Polarizability_bohr3", "bohr^3"),
    "gap": Target("HOMO_LUMO_gap_au", "meV", HARTREE_TO_MEV),
    "homo": Target("HOMO_au", "meV", HARTREE_TO_MEV),
    "lumo": Target("LUMO_au", "meV", HARTREE_TO_MEV),
    "mu": Target("Dipole_debye", "D"),
    "Cv": Target("Heatcapacity_Cv_cal_mol_K", "cal/mol K"),
    "G": Target("GibbsFreeEnergy_298K_au", "meV", HARTREE_TO_MEV),
    "H": Target("Enthalphy_298K_au", "meV", HARTREE_TO_MEV),
    "r2": Target("R2_bohr2", "bohr^2"),
    "U": Target("InternalEnergy_298K_au", "meV", HARTREE_TO_MEV),
    "U0": Target("InternalEnergy_0K_au", "meV", HARTREE_TO_MEV),
    "zpve": Target("ZPVE_au", "meV", HARTREE_TO_MEV),
}

# The paper's learning rates: 1e-3 for the orbital energies, 5e-4 for the others.
PAPER_LR = {name: (1e-3 if name in ("gap", "homo", "lumo") else 5e-4) for name in TARGETS}


def check_target(name: str) -> Target:
    if name not in TARGETS:
        raise ConfigError(f"unknown QM9 target {name!r}; choose one of {list(TARGETS)}")
    return TARGETS[name]
