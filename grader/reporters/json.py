"""The machine-readable report: one JSON document, the format every other tool reads."""

from __future__ import annotations

import json
from typing import Any

from grader.results import SubmissionResult


def document(result: SubmissionResult) -> dict[str, Any]:
    return result.to_json()


def dumps(result: SubmissionResult) -> str:
    return json.dumps(document(result), indent=2, ensure_ascii=False)
