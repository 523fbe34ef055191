"""Time of ``bigmap-al predict`` for 1,000 queries, model choice included, on one core.

Target (issue 8): under 60 s. Runs the installed command on the FZJ data (or --data FILE) with
1,000 random queries inside the data's range, pinned to one core (OMP/BLAS threads 1, and
``taskset`` where the machine has it), and prints the wall time and the chosen model.

    .venv/bin/python benchmarks/predict_speed.py [--data FILE] [--queries 1000]
"""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

DEFAULT_DATA = (pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "fzj_conductivity"
                / "HTE_dataset_PC_EMC_EC_LiPF6.csv")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"no data file at {args.data}: give --data FILE")
    rng = np.random.default_rng(0)
    environment = {**os.environ, **{name: "1" for name in (
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    with tempfile.TemporaryDirectory() as folder:
        queries, out = pathlib.Path(folder) / "queries.csv", pathlib.Path(folder) / "out.json"
        rows = np.column_stack([rng.choice(np.arange(243.15, 334, 10.0), args.queries),
                                rng.uniform(0.1, 1.0, args.queries), rng.uniform(0.2, 2.1, args.queries)])
        np.savetxt(queries, rows, delimiter=",", header="T [K],r,c [mol/kg]", comments="", fmt="%.4f")
        command = [str(pathlib.Path(sys.executable).parent / "bigmap-al"), "predict", "--data",
                   str(args.data), "--query", str(queries), "--json", str(out)]
        if shutil.which("taskset"):
            command = ["taskset", "-c", "0", *command]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=environment)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(result.stderr)
        answered = len(json.loads(out.read_text()))
    chosen = next(line for line in result.stderr.splitlines() if line.startswith("model:"))
    print(f"{answered} queries, model choice included, one core: {elapsed:.1f} s (target 60 s)")
    print(chosen)


if __name__ == "__main__":
    main()
