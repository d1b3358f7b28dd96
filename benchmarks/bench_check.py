"""End-to-end wall time of `deepgrade check` on the reference: one numpy exercise, one with torch oracles,
the first half of the curriculum (neuron, losses, backprop, autograd, optim) and the whole curriculum; each
without check plans (``DEEPGRADE_PLANS=0``: hypothesis draws, the oracles answer), and with them recorded
(warm cache: replayed).  Each figure is the median of 5 fresh processes (the whole curriculum: of 3).

    python benchmarks/bench_check.py [--quick]
"""

from __future__ import annotations

import os
import sys
import tempfile

from _common import machine, median_time, run_cli

FIRST_HALF = ["neuron", "losses", "backprop", "autograd", "optim"]


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    cases = [
        ("one numpy exercise (neuron.relu)", ["neuron.relu"], 5),
        ("one numpy exercise with torch oracles (neuron.sigmoid)", ["neuron.sigmoid"], 5),
        ("first half of the curriculum", FIRST_HALF, 3),
    ] + ([] if quick else [("the whole curriculum", [], 3)])
    with tempfile.TemporaryDirectory() as cache:
        os.environ["DEEPGRADE_CACHE"] = cache
        for label, args, repeat in cases:
            cli = ["check", *args, "--submission", "solutions", "--json"]
            os.environ["DEEPGRADE_PLANS"] = "0"
            cold, _ = median_time(lambda: run_cli(*cli), repeat)
            os.environ["DEEPGRADE_PLANS"] = "1"
            run_cli(*cli)  # records the plans
            warm, times = median_time(lambda: run_cli(*cli), repeat)
            print(
                f"{label}: without plans {cold:.2f} s, replaying plans {warm:.2f} s ({cold / warm:.1f}x); "
                f"runs: {', '.join(f'{t:.2f}' for t in times)}"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
