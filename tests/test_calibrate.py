"""The GAN's distributional criterion and the calibration script that sized it (issue 9.6)."""

from __future__ import annotations

import sys

import numpy as np

from grader.exercises import gan
from tests.corpus import ROOT


def test_the_gan_criterion_accepts_the_target_and_rejects_collapse_and_a_single_wide_gaussian():
    rng = np.random.default_rng(0)
    target = gan.target_samples(4000, rng).ravel().astype(np.float64)
    assert min(gan.margins(target).values()) > 0.2
    collapsed = target[target > 0]  # one mode only
    assert gan.margins(collapsed)["smaller mode's mass - 0.25"] < 0
    wide = rng.normal(0.0, np.sqrt(4.0 + gan.MODE_STD**2), 4000)  # the target's mean and std, one mode
    assert gan.margins(wide)["mass near the modes - 0.6"] < 0


def test_calibrate_reports_the_acceptance_rate_of_a_check(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    sys.modules.pop("calibrate", None)
    import calibrate

    assert calibrate.main(["--seeds", "2", "--checks", "rnn.model"]) == 0
    out = capsys.readouterr().out
    assert "rnn.model: accepted at 2/2 seeds" in out and "margin accuracy - 0.90" in out
