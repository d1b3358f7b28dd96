"""The course secret: where it comes from, that it is made once (mode 600, said on stderr), that a bad one is
a one-line usage error, and that `deepgrade grade` carries it into every job and into runner.grade."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path

import pytest

from grader import registry, runner
from grader import secret as course_secret
from grader.cli import main
from grader.instructor import batch
from grader.results import SubmissionResult
from tests.batchkit import complete

A, B = b"first course secret of the term", b"second course secret, other seeds"


@pytest.fixture
def no_secret(tmp_path, monkeypatch):
    """No secret in the environment; the default file lives under tmp_path."""
    monkeypatch.delenv(course_secret.ENV, raising=False)
    monkeypatch.delenv(course_secret.ENV_FILE, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "deepgrade" / "secret"


def test_first_use_creates_a_private_secret_and_says_so_once(no_secret, capsys):
    first = course_secret.load()
    err = capsys.readouterr().err
    assert str(no_secret) in err and "created" in err and err.count("\n") == 1
    assert stat.S_IMODE(no_secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(no_secret.parent.stat().st_mode) == 0o700
    assert len(first) >= 32 and course_secret.load() == first
    assert capsys.readouterr().err == ""  # said once
    assert not list(no_secret.parent.glob(".*.tmp"))


def test_concurrent_first_use_agrees_on_one_secret(no_secret):
    got: list[bytes] = []
    threads = [threading.Thread(target=lambda: got.append(course_secret.load())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and len(set(got)) == 1 and no_secret.read_bytes().strip() == got[0]


def test_precedence_explicit_file_then_environment_then_env_file(no_secret, tmp_path, monkeypatch):
    explicit, env_file = tmp_path / "explicit", tmp_path / "env_file"
    explicit.write_bytes(A + b"\n")
    env_file.write_bytes(B)
    monkeypatch.setenv(course_secret.ENV_FILE, str(env_file))
    assert course_secret.load() == B
    monkeypatch.setenv(course_secret.ENV, "secret from the environment")
    assert course_secret.load() == b"secret from the environment"
    assert course_secret.load(explicit) == A  # --secret-file wins over everything
    assert set(course_secret.known()) == {b"secret from the environment", B}
    assert not no_secret.exists()  # nothing was created along the way


def test_seeds_depend_on_the_secret_not_only_on_public_names():
    ex = registry.get("neuron.sigmoid")
    hidden = next(c for c in ex.checks if c.hidden)
    assert runner.check_seed(ex, hidden, secret=A) != runner.check_seed(ex, hidden, secret=B)
    assert course_secret.fingerprint(A) != course_secret.fingerprint(B)
    assert A.hex() not in course_secret.fingerprint(A) and len(course_secret.fingerprint(A)) == 16


@pytest.mark.parametrize("content, why", [(None, "no course secret at"), (b"short\n", "shorter than 16")])
def test_a_bad_secret_file_is_a_one_line_usage_error(tmp_path, capsys, content, why):
    sub = complete(tmp_path / "alice")
    file = tmp_path / "secret"
    if content is not None:
        file.write_bytes(content)
    code = main(
        [
            "grade",
            str(sub),
            "--out",
            str(tmp_path / "out"),
            "--only",
            "neuron.relu",
            "--quiet",
            "--secret-file",
            str(file),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and why in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_grade_carries_the_secret_into_each_job_and_runner_grade(tmp_path, monkeypatch, capsys):
    """`--secret-file` overrides $DEEPGRADE_SECRET; the secret reaches runner.grade in the job (the same job
    goes to a pool process or a Dask worker), and a new secret makes the cached grades out of date."""
    seen: list[bytes | None] = []
    jobs: list[dict] = []

    def fake_grade(submission, exercises, **kw):
        seen.append(kw.get("secret"))
        return SubmissionResult(str(submission))

    real_local = batch._run_local

    def spy_local(n, todo):
        jobs.extend(todo)
        return real_local(n, todo)

    monkeypatch.setattr(batch, "_run_local", spy_local)
    complete(tmp_path / "class" / "alice")
    complete(tmp_path / "class" / "bob")
    files = {}
    for name, value in (("a", A), ("b", B)):
        files[name] = tmp_path / name
        files[name].write_bytes(value)
    argv = [
        "grade",
        str(tmp_path / "class"),
        "--out",
        str(tmp_path / "out"),
        "--only",
        "neuron.relu",
        "--examples",
        "3",  # each secret's hidden inputs are drawn and answered afresh: few of them
        "--quiet",
        "--jobs",
        "1",
        "--isolation",
        "process",
    ]
    assert main([*argv, "--secret-file", str(files["a"])]) == 0
    assert [j["secret"] for j in jobs] == [A, A]  # each job (pool process or Dask worker) carries it
    assert "process runs student code as you: it can read the course secret" in capsys.readouterr().err
    monkeypatch.setattr(runner, "grade", fake_grade)
    batch.grade_one(jobs[0])  # what a pool process does with the job: runner.grade gets the secret
    assert seen == [A]
    assert main([*argv, "--secret-file", str(files["a"])]) == 0
    assert len(jobs) == 2  # up to date: nothing re-graded
    assert main([*argv, "--secret-file", str(files["b"])]) == 0
    assert [j["secret"] for j in jobs[2:]] == [B, B]  # another secret, other hidden inputs: re-graded
    for record in (tmp_path / "out").rglob("*.json"):
        text = record.read_bytes()
        assert A not in text and B not in text and A.hex().encode() not in text, record
    assert os.environ[course_secret.ENV] not in (A.decode(), B.decode())


@pytest.mark.parametrize("isolation", ["sandbox", "limits"])
def test_a_submission_cannot_read_the_course_secret_while_grade_runs(tmp_path, monkeypatch, isolation):
    """The secret in the grader's environment and in its default file (in a world-traversable folder, so only
    its own modes protect it): the student's code gets neither; the honest exercise keeps full marks."""
    from grader.isolation import sandbox
    from tests.adversarial.secret import secret_spy

    if isolation == "sandbox" and not sandbox.bwrap_works():
        pytest.skip("bubblewrap cannot run here")
    if isolation == "limits" and os.geteuid() != 0:
        pytest.skip("limits hides the file by ownership: needs root")
    config = Path(tempfile.mkdtemp(prefix="deepgrade-config-", dir="/tmp"))
    try:
        os.chmod(config, 0o755)
        monkeypatch.delenv(course_secret.ENV, raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
        from_file = course_secret.load()  # the default file, made as on an instructor's first `grade`
        from_env = b"the grader's environment holds this secret"
        monkeypatch.setenv(course_secret.ENV, from_env.decode())
        monkeypatch.setenv(course_secret.ENV_FILE, str(course_secret.default_path()))
        sub = complete(tmp_path / "class" / "mallory")
        (sub / "neuron.py").write_text(secret_spy(course_secret.default_path()))
        out = tmp_path / "out"
        assert (
            main(
                [
                    "grade",
                    str(sub),
                    "--out",
                    str(out),
                    "--only",
                    "neuron.sigmoid",
                    "--only",
                    "neuron.relu",
                    "--examples",
                    "3",
                    "--isolation",
                    isolation,
                    "--jobs",
                    "1",
                    "--quiet",
                    "--secret-file",
                    str(course_secret.default_path()),
                ]
            )
            == 0
        )
    finally:
        shutil.rmtree(config, ignore_errors=True)
    blocked = "PermissionError" if isolation == "limits" else "FileNotFoundError"
    texts = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = json.loads(texts[out / "students" / "mallory" / "results.json"])
    mallory = texts[out / "students" / "mallory" / "results.json"]
    assert f"ATTACK env=missing file={blocked} envfile=missing".encode() in mallory
    assert result["score"] == registry.get("neuron.relu").points  # sigmoid 0, the honest relu in full
    for path, text in texts.items():
        assert from_file not in text and from_env not in text, path
