"""Feedback in the tutorial's language (issue 12): the gettext catalogs are complete and current, and a student
who asks for Chinese (``--lang zh`` or ``LANG=zh_CN.UTF-8``) reads no untranslated sentence; English stays the
default and unchanged."""

from __future__ import annotations

import gettext
import importlib.util
import json
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from grader import i18n, registry
from grader.reference import ROOT
from grader.results import CheckResult, ExerciseResult, SubmissionResult
from tests.corpus import mutants

LOCALE = ROOT / "grader" / "locale"
CJK = re.compile(r"[\u4e00-\u9fff]")
LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def _babel():
    return pytest.importorskip("babel.messages.pofile", reason="Babel is in the i18n dependency group")


def catalog(lang: str) -> dict[str, str]:
    """msgid -> msgstr of ``grader/locale/<lang>/LC_MESSAGES/deepgrade.po`` (fuzzy entries count as empty)."""
    pofile = _babel()
    with (LOCALE / lang / "LC_MESSAGES" / "deepgrade.po").open("rb") as f:
        cat = pofile.read_po(f, locale=lang)
    return {m.id: ("" if m.fuzzy else m.string) for m in cat if m.id}


def pot_ids() -> set[str]:
    pofile = _babel()
    with (LOCALE / "deepgrade.pot").open("rb") as f:
        return {m.id for m in pofile.read_po(f) if m.id}


def placeholders(text: str) -> set[str]:
    """The ``str.format`` fields of ``text`` (``{name}``, ``{k!r}``: ``name``, ``k``)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def problems(lang: str, entries: dict[str, str]) -> list[str]:
    """What is wrong with a catalog's entries: empty, other placeholders than the msgid's, and for Chinese, a
    msgstr without a Chinese character (left in English) where the msgid has words (", " is punctuation)."""
    found = []
    for msgid, msgstr in entries.items():
        if not msgstr.strip():
            found.append(f"{lang}: {msgid!r} is not translated")
        elif placeholders(msgid) != placeholders(msgstr):
            found.append(f"{lang}: {msgid!r} -> {msgstr!r}: placeholders differ")
        elif lang == "zh_CN" and re.search("[A-Za-z]", re.sub(r"\{[^}]*\}", "", msgid)) and not CJK.search(msgstr):
            found.append(f"{lang}: {msgid!r} -> {msgstr!r} has no Chinese in it")
        elif lang == "en" and msgstr != msgid:
            found.append(f"{lang}: {msgid!r} -> {msgstr!r}: the English catalog is its msgids")
    return found


# ----------------------------------------------------------------------------- the catalogs


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_every_catalog_entry_is_translated_with_the_same_placeholders(lang):
    entries = catalog(lang)
    assert set(entries) == pot_ids(), "run scripts/catalogs.py update: the .po and the .pot list other msgids"
    assert problems(lang, entries) == []


def test_the_catalog_check_would_say_so():
    """Each rule of :func:`problems` rejects what it is for."""
    bad = {
        "{what} does not match": "",
        "the gradient {name}": "梯度 {nom}",
        "Max pooling": "Max pooling",
        "{value} (numerical)": "{value}（数值梯度）",
    }
    assert len(problems("zh_CN", bad)) == 3
    assert placeholders("{k!r} and {x:.3g}, {{not}}") == {"k", "x"}


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_the_committed_mo_files_are_compiled_from_the_po_files(lang):
    """What the grader reads at run time (the .mo, through the standard library) says what the .po says."""
    with (LOCALE / lang / "LC_MESSAGES" / "deepgrade.mo").open("rb") as f:
        mo = gettext.GNUTranslations(f)
    stale = [msgid for msgid, msgstr in catalog(lang).items() if mo.gettext(msgid) != msgstr]
    assert stale == [], "run scripts/catalogs.py compile"


def _catalogs_script():
    _babel()
    spec = importlib.util.spec_from_file_location("catalogs", ROOT / "scripts" / "catalogs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_pot_is_current_with_the_source(tmp_path):
    """Re-extract the marked strings: a new (or changed) student-facing string that is not in the committed
    catalogs fails here, and so does one the source no longer has."""
    pofile = _babel()
    fresh = tmp_path / "deepgrade.pot"
    _catalogs_script().extract(fresh)
    with fresh.open("rb") as f:
        extracted = {m.id for m in pofile.read_po(f) if m.id}
    committed = pot_ids()
    assert extracted - committed == set(), "new strings: scripts/catalogs.py extract, update, translate, compile"
    assert committed - extracted == set(), "strings gone from the source: scripts/catalogs.py extract, update"
    assert len(extracted) > 200


def test_every_title_hint_and_check_name_of_the_curriculum_is_in_the_catalog():
    """Titles, hints and check names are registered at import time: each is a msgid, or is built from a
    template that is one (``{function} matches torch``), so every one of them is shown translated."""
    zh = catalog("zh_CN")
    registry.all_exercises()
    missing = []
    for e in registry.all_exercises():
        assert e.seed and all(n in registry.SECTIONS for n in e.seed.split(", ")), f"{e.id}: no tutorial section"
        for text in (e.title, e.hint):
            if text not in zh:
                missing.append(text)
        for c in e.checks:
            base = c.name.removesuffix(i18n.HIDDEN)
            if base not in zh and not any(p.match(base) for p, _ in i18n._patterns()):
                missing.append(c.name)
    assert missing == []


# ----------------------------------------------------------------------------- choosing the language


def test_a_language_is_chosen_by_lang_or_by_the_locale_as_gettext_reads_it():
    assert [i18n.normalise(x) for x in ("zh", "zh-CN", "zh_CN.UTF-8", "ZH_cn", "en_GB.UTF-8", "C", "fr", "xx")] == [
        "zh_CN",
        "zh_CN",
        "zh_CN",
        "zh_CN",
        "en",
        "en",
        None,
        None,
    ]
    env = i18n.from_environment
    assert env({}) == "en"
    assert env({"LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert env({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}) == "en"  # LC_ALL comes before LANG
    assert env({"LANGUAGE": "fr:zh_CN", "LANG": "en_US.UTF-8"}) == "zh_CN"  # a list: the first we speak
    assert env({"LANG": "de_DE.UTF-8"}) == "en"
    with pytest.raises(i18n.UnknownLanguage, match="unknown language 'xx'"):
        i18n.set_language("xx")


def test_a_missing_catalog_is_a_clear_error_for_lang_and_english_for_the_locale(monkeypatch, tmp_path):
    monkeypatch.setattr(i18n, "_current", None)
    monkeypatch.setattr(i18n, "LOCALEDIR", tmp_path)  # an installation without grader/locale
    i18n._catalog.cache_clear()
    try:
        with pytest.raises(i18n.UnknownLanguage, match="no zh_CN catalog"):
            i18n.set_language("zh")
        monkeypatch.setenv("LANG", "zh_CN.UTF-8")
        for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
            monkeypatch.delenv(var, raising=False)
        assert i18n.set_language(None) == "en" and i18n._("ReLU activation") == "ReLU activation"
    finally:
        i18n._catalog.cache_clear()


def test_strings_marked_at_import_time_are_translated_where_they_are_shown(monkeypatch):
    """The exercises were imported (in English) before the language is chosen; their titles, hints and check
    names still show in Chinese, with what they hold (functions, labels, the hidden suffix) unchanged."""
    monkeypatch.setattr(i18n, "_current", None)
    relu = registry.get("neuron.relu")
    assert relu.title == "ReLU activation"  # the registry keeps the msgid: it is an identifier
    i18n.set_language("zh")
    assert i18n._(relu.title) == "ReLU 激活函数"
    assert "反向传播" in i18n._(relu.hint)
    assert i18n.name("relu_forward matches torch") == "relu_forward 与 torch 一致"
    assert i18n.name("relu_backward matches torch autograd [hidden]") == "relu_backward 与 torch 自动求导一致 [隐藏]"
    assert i18n.name("conv_forward matches the reference (stride 2)") == "conv_forward 与参考实现一致 (stride 2)"
    assert i18n.name("not a check of ours") == "not a check of ours"
    i18n.set_language("en")
    assert i18n.name("relu_forward matches torch [hidden]") == "relu_forward matches torch [hidden]"
    assert i18n._(relu.title) == "ReLU activation"


def test_the_feedback_page_is_written_in_the_chosen_language(monkeypatch):
    from grader.reporters import feedback

    monkeypatch.setattr(i18n, "_current", None)
    check = CheckResult("relu_forward matches torch", 0.0, 1.0, "failed", "expected 0.0, got 1.0", "torch", False)
    result = SubmissionResult("alice", [ExerciseResult("neuron.relu", "ReLU activation", "neuron", [check])])
    i18n.set_language("en")
    english = feedback.html(result, "alice")
    assert 'lang="en"' in english and "Feedback for alice" in english and not CJK.search(english)
    i18n.set_language("zh_CN")
    page, md = feedback.html(result, "alice"), feedback.markdown(result, "alice")
    for text in (page, md):
        assert "alice 的反馈" in text and "ReLU 激活函数" in text and "relu_forward 与 torch 一致" in text
        assert "未通过" in text and "expected 0.0, got 1.0" in text  # the check's own message is data here
    assert 'lang="zh-CN"' in page


def test_a_training_chart_is_labelled_in_the_chosen_language(monkeypatch):
    import base64

    from grader.reporters import feedback

    monkeypatch.setattr(i18n, "_current", None)
    curves = {"loss": [2.0, 1.0], "reference loss": [2.0, 0.9], "loss (cuda)": [2.0, 1.1], "custom": [1.0, 1.0]}
    check = CheckResult("train_model trains", 0.0, 1.0, "failed", "the loss did not fall", "training", False)
    check.curves = curves
    result = SubmissionResult("alice", [ExerciseResult("train.loop", "A training loop", "train", [check])])

    def chart_text(page: str) -> list[str]:
        found = re.search(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", page)
        assert found is not None, "no chart on the page"
        svg = base64.b64decode(found.group(1)).decode()
        return re.findall(r">([^<>]+)</text>", svg)

    i18n.set_language("en")
    assert {"step", "loss", "reference loss", "loss (cuda)", "custom"} <= set(chart_text(feedback.html(result, "a")))
    i18n.set_language("zh_CN")
    text = chart_text(feedback.html(result, "a"))
    assert {"步数", "损失", "参考实现的损失", "损失 (cuda)", "custom"} <= set(text)
    assert not {"step", "loss", "reference loss"} & set(text)


# ----------------------------------------------------------------------------- the command line


def deepgrade(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    clean["COLUMNS"] = "400"  # no line of rich's is wrapped: an English sentence cannot hide across two lines
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def english_sentences() -> list[str]:
    """The English text of every msgid that Chinese translates: the pieces between its placeholders (and its
    commands in backticks) that are sentences or phrases (two words or more; a lone word could be code)."""
    found = set()
    for msgid, msgstr in catalog("zh_CN").items():
        if msgstr == msgid:
            continue
        prose = re.sub(r"`[^`]*`", "{}", msgid)  # a command in backticks is code: it stays as it is
        for literal, *_ in string.Formatter().parse(prose):
            for line in literal.splitlines():
                piece = line.strip(" .:;,()—-[]")
                if len(re.findall(r"[A-Za-z]{2,}", piece)) >= 2:
                    found.add(piece)
    return sorted(found)


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    base = tmp_path_factory.mktemp("i18n")
    mutant = next(
        m for m in mutants() if m.exercise == "neuron.relu" and m.name == "gradient masked on dout instead of x"
    )
    return {"passing": ROOT / "solutions", "failing": mutant.write(base / "failing")}


@pytest.fixture(scope="module")
def runs(submissions):
    """``deepgrade check neuron.relu`` on each submission: in Chinese by --lang and by the locale, in English."""

    def check(which: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return deepgrade(
            "check", "neuron.relu", "--submission", str(submissions[which]), "--examples", "10", *args, env=env
        )

    return {
        ("passing", "zh"): check("passing", "--lang", "zh"),
        ("failing", "zh"): check("failing", "--lang", "zh"),
        ("failing", "LANG"): check("failing", env={"LANG": "zh_CN.UTF-8"}),
        ("passing", "en"): check("passing", "--lang", "en"),
        ("failing", "en"): check("failing"),
    }


@pytest.mark.slow
@pytest.mark.parametrize("which,how", [("passing", "zh"), ("failing", "zh"), ("failing", "LANG")])
def test_check_in_chinese_prints_no_untranslated_english_sentence(runs, which, how):
    proc = runs[which, how]
    assert proc.returncode == (0 if which == "passing" else 1), proc.stderr
    out = proc.stdout
    assert CJK.search(out), out
    untranslated = [s for s in english_sentences() if s in out + proc.stderr]  # stderr: the --isolation warning
    assert untranslated == [], out + proc.stderr
    assert "ReLU 激活函数" in out  # the title, translated after the exercises were imported
    if which == "failing":
        # the failure, in Chinese; its numbers, code and input as they are
        assert "relu_backward 通过梯度检验" in out and "梯度 dx 与中心差分不一致" in out, out
        assert "relu_forward(np.array(" in out and "提示：" in out and "（你的反向传播）" in out, out
        assert "下一步：neuron.relu" in out
    else:
        assert "所选练习全部通过" in out


@pytest.mark.slow
def test_the_sentence_check_would_catch_english(runs):
    """The English run of the same failure holds many of the sentences the Chinese one must not."""
    out = runs["failing", "en"].stdout
    assert len([s for s in english_sentences() if s in out]) >= 5, out
    assert not CJK.search(out)


@pytest.mark.slow
def test_english_is_the_default_and_lang_en_changes_nothing(runs):
    passing, failing = runs["passing", "en"], runs["failing", "en"]  # --lang en, and no language at all
    assert passing.returncode == 0 and failing.returncode == 1
    assert "ReLU activation" in passing.stdout and "All selected exercises pass. Well done!" in passing.stdout
    assert not CJK.search(passing.stdout + failing.stdout)
    for line in (
        "relu_backward passes the gradient check  [failed, oracle: numerical]",
        "the gradient dx does not match central differences",
        "input:       relu_forward(np.array(",
        "hint:        the mask is x > 0 on the *input*, not on dout",
        "Next: neuron.relu (ReLU activation) — `deepgrade hint neuron.relu` for a hint.",
    ):
        assert line in failing.stdout, failing.stdout


def test_an_unknown_language_is_a_one_line_error():
    proc = deepgrade("hint", "neuron.relu", "--lang", "xx")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown language 'xx'" in proc.stderr and "zh" in proc.stderr
    assert proc.stdout == ""


def test_hint_in_chinese_names_the_tutorial_section():
    proc = deepgrade("hint", "neuron.sigmoid", "--lang", "zh")
    assert proc.returncode == 0, proc.stderr
    assert registry.get("neuron.sigmoid").seed == "2.1, 4.1"
    assert "Sigmoid 激活函数" in proc.stdout and "（教程 § 2.1 人工神经网络、4.1 神经元模型）" in proc.stdout
    assert "反向传播" in proc.stdout and "sigmoid_forward, sigmoid_backward" in proc.stdout
    assert not [s for s in english_sentences() if s in proc.stdout]


def test_list_json_stays_english_data_whatever_the_language():
    """JSON is data (ids, titles as the registry has them); only what is shown to be read is translated."""
    docs = [json.loads(deepgrade("list", "--json", *lang).stdout) for lang in ((), ("--lang", "zh"))]
    assert docs[0] == docs[1] and docs[0][0]["title"] == "Sigmoid activation"


def test_init_writes_the_readme_in_the_chosen_language(tmp_path):
    proc = deepgrade("init", str(tmp_path / "ex"), "--lang", "zh")
    assert proc.returncode == 0, proc.stderr
    readme = (tmp_path / "ex" / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# 深度学习练习") and "deepgrade check neuron" in readme
    assert "个练习文件写入" in proc.stdout
    assert Path(tmp_path / "ex" / "assignments" / "neuron.py").is_file()


@pytest.mark.slow
def test_a_grade_job_builds_its_messages_in_the_language_it_carries(monkeypatch, tmp_path):
    """``grade`` runs each submission in a job (another process, with the pool): the job carries the language and
    its messages are built in it; the worker that runs the student's code is not told."""
    from grader.instructor import batch

    monkeypatch.setattr(i18n, "_current", None)
    mutant = next(
        m for m in mutants() if m.exercise == "neuron.relu" and m.name == "gradient masked on dout instead of x"
    )
    folder = mutant.write(tmp_path / "bob")
    job = {"student": "bob", "source": str(folder), "exercises": ["neuron.relu"], "examples": 5, "isolation": "process"}
    messages = {}
    for lang in ("zh_CN", "en"):
        reply = batch.grade_one({**job, "lang": lang})
        (exercise,) = reply["result"]["exercises"]
        messages[lang] = "\n".join(c["message"] for c in exercise["checks"] if c["status"] == "failed")
        assert exercise["title"] == "ReLU activation" and exercise["status"] == "failed"  # data stays as it is
    assert "梯度 dx 与中心差分不一致" in messages["zh_CN"] and "提示：" in messages["zh_CN"]
    assert "the gradient dx does not match central differences" in messages["en"] and not CJK.search(messages["en"])
