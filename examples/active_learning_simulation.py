"""A short active-learning campaign measured by the project's simulator, as an AiiDA WorkChain.

Run it on the active profile with ``verdi run examples/active_learning_simulation.py``: it makes the
profile ready (``localhost`` computer and ``bigmap-sim`` code, as ``bigmap-al setup`` does), runs
four iterations of two parallel simulations each at 25 °C, and prints the workchain's pk on its
last line as ``pk=N``. Look at it with ``verdi process show N``, ``bigmap-al campaign show N``.
"""

from aiida import orm
from aiida.engine import run_get_node

from aiida_bigmap_al.learning import STRATEGIES
from aiida_bigmap_al.profile import SIMULATOR_CODE_LABEL, LOCALHOST_LABEL, setup
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import ActiveLearningWorkChain

for step in setup():
    print(step)

inputs = {
    "space": orm.Dict(fzj_space(temperatures=[298.15]).to_dict()),
    "strategy": orm.Dict(STRATEGIES["gp-ucb"].model_dump(mode="json")),
    "budget": orm.Int(8),
    "batch_size": orm.Int(2),
    "n_initial": orm.Int(2),
    "n_candidates": orm.Int(1024),
    "methods": {"simulation": {"code": orm.load_code(f"{SIMULATOR_CODE_LABEL}@{LOCALHOST_LABEL}")}},
}
results, node = run_get_node(ActiveLearningWorkChain, **inputs)
if node.is_finished_ok:
    best = results["best"]
    print(f"best: {best['value']:.2f} mS/cm at r={best['r']:.3f}, c={best['c']:.3f} mol/kg "
          f"after {len(results['dataset']['rows'])} simulations")
else:
    print(f"the campaign failed: [{node.exit_status}] {node.exit_message}")
print(f"pk={node.pk}")
