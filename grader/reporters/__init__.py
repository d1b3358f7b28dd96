"""Reporters turn a :class:`grader.results.SubmissionResult` into something a person or a tool reads."""

from grader.reporters.json import dumps as report_json
from grader.reporters.table import print_report as report

__all__ = ["report", "report_json"]
