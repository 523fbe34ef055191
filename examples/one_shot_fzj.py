"""One-shot proposals from existing conductivity data, as the BIG-MAP demonstrator made them.

    verdi run examples/one_shot_fzj.py [FILE] [-k K]

chooses and fits one surrogate over (r, c, T) on every formulation of FILE (the FZJ format; a
FILE that does not exist is an error; without FILE, the built-in data set) at all of its
temperatures, and runs ``OneShotWorkChain`` (``bigmap.one_shot``) on the active profile: per
temperature, the K best distinct formulations by predicted mean, with the std of a future
measurement there, next to the best measured one. The model is the best of every candidate by
leave-formulation-out cross-validation (the workchain's ``scores`` output holds all figures). Each proposal is its own suggestion node,
printed with its label (``T_<K>_rank_<n>``, e.g. ``T_298_15_rank_1``) and pk: hand that node to a
measurement as its ``suggestion`` input and the measurement's provenance reaches back to the model::

    verdi shell
    >>> from aiida.engine import submit
    >>> builder = CalculationFactory("bigmap.simulation").get_builder()  # or "bigmap.experiment"
    >>> builder.code, builder.suggestion = load_code("bigmap-sim@localhost"), load_node(PK)
    >>> submit(builder)

The last line is ``pk=N``; ``verdi process show N`` lists the model, the ranked summary
(``suggestions``) and the proposals. All ten FZJ temperatures take about two minutes of CPU
(eight candidate models cross-validated on 849 averaged rows, then the best one fitted).
"""

import argparse
import sys

from aiida import orm
from aiida.engine import run_get_node

from aiida_bigmap_al.datasets import DataFormatError, builtin_data, load_fzj
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import OneShotWorkChain
from aiida_bigmap_al.workchains.records import dataset_from


def arguments():
    parser = argparse.ArgumentParser(prog="verdi run examples/one_shot_fzj.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", help="FZJ conductivity file (default: built-in data)")
    parser.add_argument("-k", type=int, default=5, help="formulations per temperature (default 5)")
    return parser.parse_args()


def table(suggestions, proposals):
    """Rows of text: per temperature the ranked proposals with the label and pk of their node;
    the best measured one beside the first."""
    unit = suggestions["unit"]
    lines = [f"{'T/°C':>5} {'rank':>4} {'r':>6} {'c/(mol/kg)':>10} {'predicted/' + unit:>16} "
             f"{'± std':>6} {'suggestion node (label, pk)':>28}   best measured/{unit} at (r, c)"]
    for entry in suggestions["per_temperature"]:
        best = entry["measured_best"]
        for rank, item in enumerate(entry["ranked"], 1):
            s = proposals[item["label"]]
            measured = (f"{best['value']:.3f} at ({best['r']:.3f}, {best['c']:.3f})"
                        if best and rank == 1 else "")
            lines.append(f"{entry['temperature'] - 273.15:5.0f} {rank:4d} {s['variables']['r']:6.3f} "
                         f"{s['variables']['c']:10.3f} {s['predicted_mean']:16.3f} "
                         f"{s['predicted_std']:6.3f} {item['label']:>21} {s.pk:6d}   "
                         f"{measured}".rstrip())
    return lines


def main():
    args = arguments()
    # A path the user gave is used or refused, never replaced by other data.
    try:
        data = load_fzj(args.data) if args.data else builtin_data()
    except (OSError, DataFormatError) as error:
        sys.exit(f"Error: {error}")
    origin = "simulation" if data.source.startswith("builtin:") else "experiment"
    temperatures = [float(T) for T in data.temperatures()]
    print(f"data: {data.source} ({len(data)} measurements, {len(temperatures)} temperatures)")
    _, node = run_get_node(
        OneShotWorkChain,
        dataset=orm.Dict(dataset_from(data, origin=origin)),
        space=orm.Dict(fzj_space(temperatures=temperatures).to_dict()),
        k=orm.Int(args.k),
    )
    if node.is_finished_ok:
        print("\n".join(table(node.outputs.suggestions, node.outputs.proposals)))
        print("measure one: a SimulationCalcJob or ExperimentCalcJob with suggestion=load_node(pk)")
    else:
        print(f"OneShotWorkChain failed [{node.exit_status}]: {node.exit_message}")
    print(f"pk={node.pk}")


main()
