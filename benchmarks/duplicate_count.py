"""Pairs of repeated code in the package, now and at an earlier commit (issue 9's target: fewer).

Runs the ``duplicates`` command of the tool library over ``aiida_bigmap_al/`` in this checkout
and, with ``--base REV``, in a temporary git worktree of that commit, and prints both counts.

    .venv/bin/python benchmarks/duplicate_count.py [--base 8ed6133]
"""

import argparse
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pairs(checkout: pathlib.Path) -> tuple[int, str]:
    """The number of pairs ``duplicates`` finds in the package of ``checkout``, and its summary line."""
    result = subprocess.run(["duplicates", "--repo", str(checkout / "aiida_bigmap_al"), "--most", "1",
                             "--seconds", "120"], capture_output=True, text=True, check=True)
    line = result.stdout.splitlines()[0]
    match = re.match(r"(\d+) pairs", line)
    return (int(match.group(1)) if match else 0), line


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="an earlier commit to compare with")
    args = parser.parse_args()
    if shutil.which("duplicates") is None:
        sys.exit("the `duplicates` command (tool library) is not on PATH")
    now, line = pairs(ROOT)
    print(f"now: {now} pairs ({line})")
    if args.base:
        with tempfile.TemporaryDirectory() as folder:
            worktree = pathlib.Path(folder) / "base"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(worktree),
                            args.base], check=True)
            try:
                before, line = pairs(worktree)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)],
                               check=True)
        print(f"at {args.base}: {before} pairs ({line})")
        print(f"change: {now - before:+d} pairs")


if __name__ == "__main__":
    main()
