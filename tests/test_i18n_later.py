"""Feedback in the tutorial's language, the rest of issue 12: the later parts' check messages (autograd to
keras_model), the command line (argparse's help and errors, the ``deepgrade: error:`` prefix), ``progress`` and
``watch``, the oracle names and the notebooks.  A student who asks for Chinese reads no English sentence."""

from __future__ import annotations

import argparse
import ast
import gettext
import inspect
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader import i18n, reference, registry
from grader.reference import ROOT
from tests.corpus import mutants, replace_definitions
from tests.test_i18n import CJK, LOCALE_VARS, catalog, deepgrade, english_sentences

#: One wrong implementation per exercise, each failing a check whose message is particular to its part.
WRONG = {
    "autograd.ops": "add overwrites grads: a node reused in a graph keeps only one part",
    "optim.gd": "scales the gradients in place",
    "train.split": "test examples drawn with replacement",
    "train.idx": "data read little-endian",
    "rnn.lstm": "gates in torch's order i, f, g, o with CS231n weights",
    "gan.losses": "real and fake labels swapped",
}
#: An exercise left as its stub (raises NotImplementedError) in the same submission.
STUB = ("train.loop", "train.py", "fit")


def untranslated(text: str) -> list[str]:
    """The English sentences of the catalog that ``text`` holds (see tests/test_i18n.py)."""
    return [s for s in english_sentences() if s in text]


def failure_summaries(out: str) -> list[str]:
    """The first line of each failure that ``check`` prints: the line after '<check>  [<status>, ...]'."""
    lines = [line.strip(" │") for line in out.splitlines()]
    return [lines[i + 1] for i, line in enumerate(lines[:-1]) if re.search(r"\s\s\[[^\]]+(,|，)[^\]]+\]$", line)]


@pytest.fixture(scope="module")
def later(tmp_path_factory):
    """``deepgrade check`` in Chinese and in English on a submission with a wrong implementation of six
    exercises of the later parts and one stub."""
    sub = tmp_path_factory.mktemp("later") / "submission"
    chosen = [m for m in mutants() if WRONG.get(m.exercise) == m.name]
    assert len(chosen) == len(WRONG)
    chosen[0].write(sub)
    for m in chosen[1:]:
        path = sub / m.file
        path.write_text(replace_definitions(path.read_text(), textwrap.dedent(m.source), m.merge))
    exercise, file, function = STUB
    stubs = (reference.ASSIGNMENTS / file).read_text()
    stub = next(n for n in ast.parse(stubs).body if isinstance(n, ast.FunctionDef) and n.name == function)
    (sub / file).write_text(replace_definitions((sub / file).read_text(), ast.get_source_segment(stubs, stub) or ""))
    ids = [*WRONG, exercise]
    args = ("check", *ids, "--submission", str(sub), "--examples", "3")
    return {"zh": deepgrade(*args, "--lang", "zh"), "en": deepgrade(*args)}


@pytest.mark.slow
def test_the_later_parts_fail_in_chinese_with_no_english_sentence(later):
    proc = later["zh"]
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert untranslated(out + proc.stderr) == [], out
    summaries = failure_summaries(out)
    assert len(summaries) == len(WRONG), out
    # each failure's own sentence is Chinese: a message left unwrapped (or not in the catalog) shows in English
    assert [s for s in summaries if not CJK.search(s)] == [], out
    for line in (
        "各节点的梯度（v0.grad, v1.grad, ...） 不一致",  # autograd: what= of its own
        "局部导数有误，或者用 = 而不是 += 设置 grad",  # autograd: the hint of the check
        "GD.step 修改了传给它的梯度数组（第 1 步）",  # optim: a message with a placeholder
        "train_idx 和 test_idx 合起来应恰好包含每个索引一次",
        "IDX 数据是大端序",
        "lstm_step_forward 返回的 h 不一致",
        "判定依据：不变性质",  # the oracle's name
        "判定依据：参考实现",
        "未实现",  # the stub
    ):
        assert line in out, line + "\n" + out
    assert "stratified_split(np.array([" in out and "dtype=np.int64)" in out  # inputs stay as they are


@pytest.mark.slow
def test_the_same_failures_in_english_are_unchanged(later):
    """English stays the default, word for word: the sentences the Chinese run must not have are here."""
    out = later["en"].stdout
    assert later["en"].returncode == 1 and not CJK.search(out)
    assert len(untranslated(out)) >= 10, out
    for line in (
        "the gradients of the nodes (v0.grad, v1.grad, ...) does not match",
        "GD.step changed the gradient arrays passed to it (at step 1)",
        "train_idx and test_idx should together hold every index exactly once",
        "[failed, oracle: invariant]",
        "hint:        draw without replacement: a permutation, not random integers",
    ):
        assert line in out, line + "\n" + out


# ----------------------------------------------------------------------------- messages left unwrapped

#: Where a check's message is written: the first argument of these calls, and these keywords of any call.
MESSAGE_CALLS = {"CheckFailed", "fail"}
MESSAGE_KEYWORDS = {"what", "hint", "hint_forward", "hint_backward"}


def _literal(node: ast.expr) -> bool:
    """Prose written in the source, a string or an f-string with two words or more (``f"grads[{k!r}]"`` is
    code, an identifier of the student's, and is not)."""
    if isinstance(node, ast.JoinedStr):
        text = " {} ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    else:
        return False
    return len(re.findall(r"[A-Za-z]{2,}", text)) >= 2 and " " in text.strip()


def unwrapped_messages(path: Path) -> list[str]:
    """The student-facing messages of a module that are literal text (a string or an f-string) rather than a
    ``_()``/``N_()`` call or a name: text that would be shown in English whatever the language."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        values = [k.value for k in node.keywords if k.arg in MESSAGE_KEYWORDS]
        if func in MESSAGE_CALLS and node.args:
            values.append(node.args[0])
        for value in values:
            branches = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
            if any(_literal(b) for b in branches):
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
                found.append(f"{where}:{node.lineno}: {ast.unparse(value)[:80]}")
    return found


def test_no_check_message_is_left_unwrapped():
    files = sorted((ROOT / "grader" / "exercises").glob("*.py")) + sorted((ROOT / "grader" / "checks").glob("*.py"))
    assert [m for f in files for m in unwrapped_messages(f)] == []


def test_the_unwrapped_message_check_would_say_so(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "raise CheckFailed(f'{name} should return (loss, grads)', hint='divide by N')\n"
        "assert_close(a, b, what='the loss', hint=N_('fine'))\n"
        "ctx.fail(_('fine {x}').format(x=1), hint=HINT)\n"
        "raise CheckFailed(_('fine'), hint=N_('a') if x else 'an English hint')\n"
    )
    found = unwrapped_messages(bad)
    assert len(found) == 4, found  # the f-string, 'divide by N', 'the loss', the else branch


# ----------------------------------------------------------------------------- the command line


def test_help_is_in_chinese_and_argparse_is_left_as_it_was():
    for args in (("--help",), ("check", "--help"), ("grade", "--help")):
        proc = deepgrade(*args, "--lang", "zh")
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
        assert out.startswith("用法：deepgrade"), out
        assert "显示此帮助信息并退出" in out and "选项" in out, out
        assert untranslated(out) == [], out
        assert not re.search(r"\b(usage|options|show this help)\b", out), out
    check = deepgrade("check", "--help", "--lang", "zh").stdout
    assert "检查一份提交" in check and "每个性质的 hypothesis 样例数（默认 25）" in check
    english = deepgrade("check", "--help").stdout
    assert english.startswith("usage: deepgrade check") and "show this help message and exit" in english
    assert "hypothesis examples per property (default 25)" in english and not CJK.search(english)


def test_the_parser_hands_argparse_our_catalog_only_while_it_runs():
    from grader import cli

    before = (argparse._, argparse.ngettext)
    with pytest.raises(SystemExit):
        cli.parser(["check"]).parse_args(["check", "--help", "--lang", "zh"])  # outside: argparse's own
    with i18n.argparse_messages():
        assert argparse._ is i18n._
    assert (argparse._, argparse.ngettext) == before == (gettext.gettext, gettext.ngettext)


def test_argparse_messages_in_the_catalog_are_argparse_s_own():
    """Each msgid of i18n.ARGPARSE is a message argparse shows (a typo would never be looked up)."""
    source = inspect.getsource(argparse)
    assert [m for m in i18n.ARGPARSE if repr(m) not in source and f'"{m}"' not in source] == []
    zh = catalog("zh_CN")
    for msgid in i18n.ARGPARSE:  # argparse fills in %-placeholders itself: the translation keeps every one
        assert sorted(re.findall(r"%(?:\(\w+\))?[sr]", zh[msgid])) == sorted(re.findall(r"%(?:\(\w+\))?[sr]", msgid))


@pytest.mark.parametrize(
    "args,chinese,english",
    [
        (("check", "--examples", "0"), "deepgrade：错误：check: 参数 --examples：必须至少为 1", "must be at least 1"),
        (("hint", "nope"), "deepgrade：错误：未知的练习或部分 'nope'", "unknown exercise or part 'nope'"),
        (
            ("check", "--isolation", "nope"),
            "deepgrade：错误：check: 参数 --isolation：无效的选择：'nope'",
            "invalid choice",
        ),
    ],
)
def test_a_usage_error_is_one_line_in_the_chosen_language(args, chinese, english):
    zh, en = deepgrade(*args, "--lang", "zh"), deepgrade(*args)
    assert zh.returncode == en.returncode == 2
    assert zh.stderr.count("\n") == 1 and zh.stderr.startswith(chinese), zh.stderr
    assert untranslated(zh.stderr) == [], zh.stderr
    assert en.stderr.startswith("deepgrade: error: ") and english in en.stderr and not CJK.search(en.stderr)


def test_the_locale_chooses_the_language_of_help_too():
    proc = deepgrade("hint", "--help", env={"LANG": "zh_CN.UTF-8"})
    assert proc.stdout.startswith("用法：deepgrade hint") and "练习 id 或部分" in proc.stdout


# ----------------------------------------------------------------------------- progress and watch


def _half_done(tmp_path: Path) -> Path:
    """A copy of the stubs with neuron.sigmoid solved (as tests/test_watch_progress.py makes it)."""
    sub = tmp_path / "work"
    shutil.copytree(reference.ASSIGNMENTS, sub)
    ref = (reference.SOLUTIONS / "neuron.py").read_text()
    defs = {n.name: ast.get_source_segment(ref, n) for n in ast.parse(ref).body if isinstance(n, ast.FunctionDef)}
    text = (sub / "neuron.py").read_text()
    (sub / "neuron.py").write_text(
        replace_definitions(text, f"{defs['sigmoid_forward']}\n\n{defs['sigmoid_backward']}\n")
    )
    return sub


@pytest.mark.slow
def test_progress_in_chinese(tmp_path):
    proc = deepgrade("progress", "--submission", str(_half_done(tmp_path)), "--examples", "3", "--lang", "zh")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "下一步：neuron.relu" in out and "✓sigmoid" in out, out
    assert CJK.search(out.splitlines()[0]), out  # the table's title
    assert untranslated(out + proc.stderr) == [], out


@pytest.mark.slow
def test_watch_in_chinese(tmp_path):
    sub = _half_done(tmp_path)
    clean = {k: v for k, v in __import__("os").environ.items() if k not in LOCALE_VARS}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "watch", "--submission", str(sub), "--once", "--examples", "3"],
        cwd=ROOT,
        env={**clean, "COLUMNS": "400", "LANG": "zh_CN.UTF-8"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()  # the watcher has started (and watches a moment later)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:  # a save it missed while starting is saved again
            (sub / "neuron.py").write_text((sub / "neuron.py").read_text() + "\n")
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        out = first + proc.stdout.read()
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "监视" in out.splitlines()[0] and "neuron" in out and "未实现" in out, out
    assert untranslated(out) == [], out


# ----------------------------------------------------------------------------- notebooks, Gradescope


def test_a_notebook_is_written_in_the_chosen_language(monkeypatch):
    from grader.notebooks import course, extract

    monkeypatch.setattr(i18n, "_current", None)
    i18n.set_language("zh")
    text = course._exercise_text(registry.get("optim.gd"))
    intro = course._intro("optim", "Optimizers\n\nGD, SGD, Adam.")
    assert "## 练习 `optim.gd` — 梯度下降" in text and "分" in text and "教程 § 3.1, 4.3" in text, text
    assert "自动评分会检查：" in text and "GD 在多步更新中与 torch.optim 一致" in text and "判定依据：" in text, text
    assert "<summary>提示</summary>" in text and "梯度下降（§4.3）" in intro, intro
    assert untranslated(text + intro) == [], text + intro
    assert "缺少 grade_id 为 optim_gd 的单元格" == extract.missing_message("optim_gd")
    i18n.set_language("en")
    english = course._exercise_text(registry.get("optim.gd"))
    assert "## Exercise `optim.gd` — Gradient descent" in english and "The autograder checks:" in english
    assert "*(oracle: torch)*" in english and not CJK.search(english)


def test_gradescope_results_are_written_in_the_chosen_language(monkeypatch):
    from grader.reporters import gradescope
    from grader.results import CheckResult, ExerciseResult, SubmissionResult

    monkeypatch.setattr(i18n, "_current", None)
    check = CheckResult("GD.step leaves the gradients unchanged", 0.0, 1.0, "not_implemented", "", "invariant", False)
    result = SubmissionResult("bob", [ExerciseResult("optim.gd", "Gradient descent", "optim", [check])])
    i18n.set_language("zh")
    doc = gradescope.document(result)
    assert doc["output"].endswith(" 分") and doc["tests"][0]["output"] == "未实现", doc
    assert doc["tests"][0]["name"] == "optim.gd: GD.step leaves the gradients unchanged"  # Gradescope's key: data
    i18n.set_language("en")
    assert gradescope.document(result)["output"] == "0/1 points"


def test_the_module_level_messages_are_marked_for_the_catalog():
    """Hints kept in module constants (shown where a check fails) are msgids, so they are translated."""
    from grader.checks import compare, standard
    from grader.exercises import backprop, keras_model, pytorch

    zh = catalog("zh_CN")
    for message in (
        compare.FLOAT32_HINT,
        standard.IN_PLACE_HINT,
        backprop._HINT,
        keras_model._COMPILE_HINT,
        pytorch._LOADER_HINT,
    ):
        assert CJK.search(zh.get(message, "")), message


def test_a_forbidden_import_note_is_in_the_chosen_language(monkeypatch):
    from grader.isolation import policy

    monkeypatch.setattr(i18n, "_current", None)
    relu = registry.get("neuron.relu")
    i18n.set_language("zh")
    (note,) = policy.violations(relu, [("torch", "neuron.py:1")], i18n.N_("static"))
    assert note == "禁止的导入（静态扫描）：neuron.py:1 导入了 torch；neuron.py 只能使用 numpy", note
    i18n.set_language("en")
    (note,) = policy.violations(relu, [("torch", "neuron.py:1")], "static")
    assert note == "forbidden import (static): neuron.py:1 imports torch; neuron.py must use numpy only"
