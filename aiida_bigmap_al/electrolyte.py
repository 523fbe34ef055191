"""Map the FZJ electrolyte domain's two numbers (r, c) to a FINALES ``Formulation`` and back.

The FZJ/HI Münster conductivity data cover LiPF6 in EC/PC/EMC with the (EC+PC):EMC mass ratio held
at 3:7. A learner works on two variables,

* ``r``: the PC/(EC+PC) mass ratio (0 = no PC, 1 = no EC), and
* ``c``: the LiPF6 molality in mol per kg of the whole solvent mixture (EC+PC+EMC),

while a lab or the broker needs a recipe: which chemicals, how much of each. ``to_formulation``
writes that recipe (mass fractions as a gravimetric ratio, and the masses for a batch made with
1 kg of solvent), ``from_formulation`` reads any gravimetric recipe of these four compounds back,
so that a result coming back through the broker lands on the right point of the search space.
"""

from __future__ import annotations

import math
from numbers import Real

from .schemas import Amount, Chemical, Compound, Formulation

__all__ = [
    "EC",
    "EMC",
    "LIPF6",
    "LIPF6_MOLAR_MASS",
    "MOLAR_MASS",
    "PC",
    "SOLVENT_CYCLIC_FRACTION",
    "SOLVENT_RATIO_TOL",
    "compound_of",
    "from_formulation",
    "from_mass_fractions",
    "molality_from_w",
    "to_formulation",
    "w_from_molality",
]

#: g/mol of LiPF6, the value the FZJ data README uses to relate molality and mass ratio.
LIPF6_MOLAR_MASS = 151.905

#: Mass fraction of the cyclic carbonates (EC+PC) in the solvent: (EC+PC):EMC = 3:7.
SOLVENT_CYCLIC_FRACTION = 0.3

#: Absolute tolerance on that fraction when reading a formulation back: three-digit hand-entered
#: mass fractions shift it by up to a few 1e-3.
SOLVENT_RATIO_TOL = 5e-3

#: Mass of solvent the recipe's amounts refer to (g): "per kg of solvent", like the molality.
_BATCH_SOLVENT_G = 1000.0

EC = Chemical(smiles="C1COC(=O)O1", name="ethylene carbonate")
PC = Chemical(smiles="CC1COC(=O)O1", name="propylene carbonate")
EMC = Chemical(smiles="CCOC(=O)OC", name="ethyl methyl carbonate")
LIPF6 = Chemical(smiles="[Li+].F[P-](F)(F)(F)(F)F", name="lithium hexafluorophosphate")

#: Compound names (the usual abbreviations) in the order ``to_formulation`` writes them.
_KEYS = ("EC", "PC", "EMC", "LiPF6")
_CHEMICALS = dict(zip(_KEYS, (EC, PC, EMC, LIPF6)))

#: SMILES by which a chemical is recognised (exact, SMILES are case-sensitive); for LiPF6 also the
#: other common way of writing it, as there is no RDKit here to canonicalise.
_SMILES = {chemical.smiles: key for key, chemical in _CHEMICALS.items()}
_SMILES["[Li+].[P-](F)(F)(F)(F)(F)F"] = "LiPF6"

#: Standard InChIKeys by which a chemical is also recognised (FINALES2 clients give both).
_INCHIKEYS = {"KMTRUDSVKNLOMY-UHFFFAOYSA-N": "EC", "RUOJZAUFBMNUDX-UHFFFAOYSA-N": "PC",
              "JBTWLSYIZRCDFO-UHFFFAOYSA-N": "EMC", "AXPLOJNSKRXQPA-UHFFFAOYSA-N": "LiPF6"}

#: g/mol of each compound (IUPAC atomic weights), to read molar fractions as masses.
MOLAR_MASS = {"EC": 88.062, "PC": 102.089, "EMC": 104.105, "LiPF6": LIPF6_MOLAR_MASS}

#: Names by which a compound or chemical is recognised (case-insensitive): abbreviation, full name.
_NAMES = {alias.lower(): key for key, chemical in _CHEMICALS.items() for alias in (key, chemical.name)}


def molality_from_w(w: float) -> float:
    """LiPF6 molality (mol/kg solvent) from the LiPF6/(EC+PC) mass ratio ``w`` of the one-shot study."""
    return w * SOLVENT_CYCLIC_FRACTION * 1000.0 / LIPF6_MOLAR_MASS


def w_from_molality(c: float) -> float:
    """Inverse of ``molality_from_w``."""
    return c * LIPF6_MOLAR_MASS / (SOLVENT_CYCLIC_FRACTION * 1000.0)


def to_formulation(r: float, c: float) -> Formulation:
    """The FINALES formulation for PC/(EC+PC) mass ratio ``r`` and LiPF6 molality ``c`` (mol/kg).

    ``ratio`` holds the mass fractions of EC, PC, EMC and LiPF6 (gravimetric, summing to 1); each
    compound's amount is its mass in g in a batch made with 1 kg of solvent mixture. All four
    compounds are always listed, with a zero share where ``r`` or ``c`` is 0, so every
    formulation of the domain has the same shape.
    """
    _check_finite("r", r)
    _check_finite("c", c)
    if not 0.0 <= r <= 1.0:
        raise ValueError(f"r (PC/(EC+PC) mass ratio) must lie in [0, 1], got {r}")
    if c < 0.0:
        raise ValueError(f"c (LiPF6 molality) must be >= 0 mol/kg, got {c}")
    cyclic = SOLVENT_CYCLIC_FRACTION * _BATCH_SOLVENT_G
    masses = {
        "EC": cyclic * (1.0 - r),
        "PC": cyclic * r,
        "EMC": _BATCH_SOLVENT_G - cyclic,
        "LiPF6": c * LIPF6_MOLAR_MASS,
    }
    total = math.fsum(masses.values())
    compounds = [
        Compound(chemicals=[_CHEMICALS[key]], amounts=[Amount(value=masses[key], unit="g")], name=key)
        for key in _KEYS
    ]
    return Formulation(
        compounds=compounds,
        ratio=[masses[key] / total for key in _KEYS],
        ratio_method="gravimetric",
    )


def from_formulation(f: Formulation, tol: float = SOLVENT_RATIO_TOL) -> tuple[float, float]:
    """``(r, c)`` of a gravimetric EC/PC/EMC/LiPF6 formulation, the inverse of ``to_formulation``.

    Compounds may come in any order and be named by abbreviation, full name or SMILES; a missing
    compound counts as zero (e.g. no PC means r = 0). Raises ``ValueError`` naming the problem for
    a non-gravimetric ratio, an unknown or repeated compound, or an (EC+PC):EMC mass ratio that is
    not 3:7 within ``tol`` (absolute, on the (EC+PC) fraction of the solvent).
    """
    if f.ratio_method != "gravimetric":
        raise ValueError(f"ratio_method must be 'gravimetric' for the FZJ domain, got {f.ratio_method!r}")
    fractions: dict[str, float] = {}
    for compound, share in zip(f.compounds, f.ratio):
        key = _identify(compound)
        if key in fractions:
            raise ValueError(f"compound {key} appears more than once in the formulation")
        fractions[key] = share
    return from_mass_fractions(fractions, tol)


def from_mass_fractions(fractions: dict[str, float], tol: float = SOLVENT_RATIO_TOL) -> tuple[float, float]:
    """``(r, c)`` of mass fractions (or masses) by compound, ``EC``, ``PC``, ``EMC``, ``LiPF6``
    (a missing one counts as zero); ``ValueError`` if the (EC+PC):EMC mass ratio is not 3:7 within
    ``tol`` or there is no solvent."""
    fractions = {key: fractions.get(key, 0.0) for key in _KEYS}
    cyclic = fractions["EC"] + fractions["PC"]
    solvent = cyclic + fractions["EMC"]
    if solvent <= 0.0:
        raise ValueError("formulation contains no solvent (EC, PC, EMC all zero)")
    cyclic_fraction = cyclic / solvent
    if abs(cyclic_fraction - SOLVENT_CYCLIC_FRACTION) > tol:
        raise ValueError(
            f"(EC+PC):EMC mass ratio is {cyclic_fraction:.4f}:{1 - cyclic_fraction:.4f}, "
            f"the FZJ domain needs 3:7 (within {tol} on the EC+PC fraction)"
        )
    r = fractions["PC"] / cyclic
    c = fractions["LiPF6"] / solvent * 1000.0 / LIPF6_MOLAR_MASS
    return r, c


def compound_of(smiles: str = "", inchikey: str = "") -> str | None:
    """Which of EC, PC, EMC, LiPF6 a chemical is, by its SMILES string (exact) or its InChIKey, or None."""
    return _SMILES.get(smiles.strip()) or _INCHIKEYS.get(inchikey.strip())


def _identify(compound: Compound) -> str:
    """Which of EC/PC/EMC/LiPF6 a compound is, by its name or its single chemical's SMILES/name."""
    if len(compound.chemicals) != 1:
        raise ValueError(
            f"compound {compound.name!r} has {len(compound.chemicals)} chemicals; "
            "the FZJ domain maps single-chemical compounds only"
        )
    chemical = compound.chemicals[0]
    key = compound_of(chemical.smiles)
    for name in (compound.name, chemical.name):
        key = key or _NAMES.get(name.strip().lower())
    if key is not None:
        return key
    raise ValueError(
        f"unknown compound {compound.name!r} (SMILES {chemical.smiles!r}); "
        f"the FZJ domain has only {', '.join(_KEYS)}"
    )


def _check_finite(name: str, value: float) -> None:
    if not isinstance(value, Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
