"""End-to-end wall time of `deepgrade check` on the reference: one numpy exercise, and the first half of the
curriculum (neuron, losses, backprop, autograd, optim).  Each figure is the median of 5 fresh processes.

    python benchmarks/bench_check.py
"""
from __future__ import annotations

from _common import machine, median_time, run_cli

FIRST_HALF = ["neuron", "losses", "backprop", "autograd", "optim"]


def main() -> None:
    print(f"machine: {machine()}")
    for label, args in [
        ("one numpy exercise (neuron.relu)", ["neuron.relu"]),
        ("one numpy exercise (neuron.sigmoid, with torch oracles)", ["neuron.sigmoid"]),
        ("first half of the curriculum", FIRST_HALF),
    ]:
        med, times = median_time(lambda: run_cli("check", *args, "--submission", "solutions", "--json"))
        print(f"{label}: median {med:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
