"""An exercise is graded with the reference versions of its prerequisites: a broken earlier exercise does
not cost marks on a later one."""

from __future__ import annotations

from grader import registry
from grader.runner import grade
from tests.corpus import Variant

BROKEN_CE = Variant(
    "backprop.mlp",
    "softmax_cross_entropy returns a zero loss and gradient",
    """
    def softmax_cross_entropy(logits, labels):
        return 0.0, np.zeros_like(logits)
""",
    part="losses",
)


def test_broken_prerequisite_does_not_fail_the_mlp(tmp_path):
    sub = BROKEN_CE.write(tmp_path / "sub")
    broken = grade(
        sub,
        [registry.get("losses.softmax_cross_entropy")],
        examples=5,
        only=lambda c: "matches the reference" in c.name,
    )
    assert broken.exercises[0].checks[0].status == "failed"  # the prerequisite really is wrong
    mlp = grade(sub, [registry.get("backprop.mlp")], examples=10).exercises[0]
    assert {c.name: c.status for c in mlp.checks if c.status != "passed"} == {}
    assert mlp.score == mlp.max_score == registry.get("backprop.mlp").points
