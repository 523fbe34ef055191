"""(r, c) <-> Formulation mapping of the FZJ LiPF6 in EC/PC/EMC domain."""

import pytest

from aiida_bigmap_al.electrolyte import (
    EC,
    EMC,
    LIPF6,
    LIPF6_MOLAR_MASS,
    PC,
    from_formulation,
    molality_from_w,
    to_formulation,
    w_from_molality,
)
from aiida_bigmap_al.schemas import Amount, Chemical, Compound, Formulation


@pytest.mark.parametrize(("r", "c"), [(0.0, 0.15), (1.0, 2.2), (0.087, 0.194), (0.5, 1.0), (0.73, 2.118), (0.3, 0.0)])
def test_round_trip(r, c):
    f = to_formulation(r, c)
    assert from_formulation(f) == pytest.approx((r, c), abs=1e-12)
    assert Formulation.model_validate_json(f.model_dump_json()) == f


def test_formulation_content():
    f = to_formulation(0.25, 1.0)
    assert f.ratio_method == "gravimetric"
    assert [compound.name for compound in f.compounds] == ["EC", "PC", "EMC", "LiPF6"]
    assert [compound.chemicals[0] for compound in f.compounds] == [EC, PC, EMC, LIPF6]
    masses = [compound.amounts[0].value for compound in f.compounds]
    # 1 kg of solvent: 300 g cyclic carbonates split 3:1 EC:PC, 700 g EMC, 1 mol of LiPF6.
    assert masses == pytest.approx([225.0, 75.0, 700.0, LIPF6_MOLAR_MASS])
    assert f.ratio == pytest.approx([m / sum(masses) for m in masses])
    assert sum(f.ratio) == pytest.approx(1.0)


def test_smiles_constants():
    assert (EC.smiles, PC.smiles, EMC.smiles, LIPF6.smiles) == (
        "C1COC(=O)O1", "CC1COC(=O)O1", "CCOC(=O)OC", "[Li+].F[P-](F)(F)(F)(F)F"
    )


def test_molality_matches_data_readme():
    # README: c = w * 0.3 * 1000 / 151.905, w = LiPF6/(EC+PC) mass ratio.
    assert molality_from_w(0.5) == pytest.approx(0.5 * 300 / 151.905)
    assert w_from_molality(molality_from_w(0.37)) == pytest.approx(0.37)


def _single(smiles, name, mass, compound_name=None):
    return Compound(
        chemicals=[Chemical(smiles=smiles, name=name)],
        amounts=[Amount(value=mass, unit="g")],
        name=compound_name or name,
    )


def test_any_order_and_identification_by_smiles_or_name():
    # A hand-written recipe: LiPF6 first, compounds named freely, EC found by its full name only.
    parts = [
        (_single("[Li+].[P-](F)(F)(F)(F)(F)F", "salt", 151.905, "conducting salt"), 151.905),
        (_single("CCOC(=O)OC", "solvent B", 700.0), 700.0),
        (_single("X", "Ethylene Carbonate", 150.0, "cyclic 1"), 150.0),
        (_single("CC1COC(=O)O1", "solvent C", 150.0), 150.0),
    ]
    total = sum(mass for _, mass in parts)
    f = Formulation(compounds=[p for p, _ in parts], ratio=[m / total for _, m in parts], ratio_method="gravimetric")
    assert from_formulation(f) == pytest.approx((0.5, 1.0))


def test_missing_pc_means_r_zero():
    f = to_formulation(0.0, 0.8)
    keep = [i for i, compound in enumerate(f.compounds) if compound.name != "PC"]
    trimmed = Formulation(
        compounds=[f.compounds[i] for i in keep], ratio=[f.ratio[i] for i in keep], ratio_method="gravimetric"
    )
    assert from_formulation(trimmed) == pytest.approx((0.0, 0.8))


def _with(f, **update):
    return Formulation.model_validate({**f.model_dump(), **update})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: _with(f, ratio_method="molar"), "ratio_method"),
        (lambda f: _with(f, ratio=[0.3, 0.1, 0.5, 0.1]), "3:7"),
        (lambda f: _with(f, compounds=[*f.compounds[:3], _single("O", "water", 10.0)]), "unknown compound 'water'"),
        (lambda f: _with(f, compounds=[*f.compounds[:3], _single("C1COC(=O)O1", "more EC", 10.0)]), "EC appears more"),
    ],
)
def test_rejects_other_formulations(change, message):
    with pytest.raises(ValueError, match=message):
        from_formulation(change(to_formulation(0.4, 1.2)))


def test_rejects_multi_chemical_compound():
    f = to_formulation(0.4, 1.2)
    mixed = Compound(chemicals=[EC, PC], amounts=[Amount(value=1, unit="g")] * 2, name="EC/PC blend")
    with pytest.raises(ValueError, match="'EC/PC blend' has 2 chemicals"):
        from_formulation(_with(f, compounds=[mixed, *f.compounds[1:]]))


@pytest.mark.parametrize(
    ("r", "c", "name"), [(-0.1, 1.0, "r"), (1.1, 1.0, "r"), (0.5, -0.1, "c"), (0.5, float("nan"), "c")]
)
def test_to_formulation_rejects_out_of_domain(r, c, name):
    with pytest.raises(ValueError, match=f"^{name} "):
        to_formulation(r, c)
