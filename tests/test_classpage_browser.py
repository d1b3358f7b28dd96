"""The class page in a real browser (headless Chromium, where it is installed): it renders, logs nothing on the
console (no script error, no blocked load, no image that did not load: the page says so on the console) and
its students table sorts.  Skipped, saying so, where there is no Chromium (Debian: apt-get install chromium)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from grader import registry
from grader.reporters import classpage
from tests.htmldom import parse
from tests.reportkit import save_class, synthetic_class

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium on this machine (apt-get install chromium): the page is not opened in a browser",
)
EXERCISES = registry.select(["neuron", "losses", "backprop"])


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    code = "def relu(x):\n    return x * (x > 0)\n"
    pair = {"a": "student001", "b": "student003", "shared_a": 0.9, "shared_b": 0.8}
    files = [{"name": "neuron.py", "code_a": code, "code_b": code, "spans_a": [[0, 12]], "spans_b": [[4, 30]]}]
    sim = {"tool": "copydetect 0.5.0", "threshold": 0.5, "pairs": [{**pair, "files": files}]}
    (out / "similarity.json").write_text(json.dumps(sim))
    save_class(out, synthetic_class(40, EXERCISES), EXERCISES)
    return out


def chromium(page: Path, tmp: Path, *args: str) -> tuple[str, list[str]]:
    """Open ``page``; (stdout, the console's messages)."""
    assert CHROMIUM is not None
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # as root in a container; the page is ours and loads nothing
            "--disable-gpu",
            f"--user-data-dir={tmp / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


def test_the_page_renders_with_nothing_on_the_console(book, tmp_path):
    shot = tmp_path / "page.png"
    _, console = chromium(book / "index.html", tmp_path, f"--screenshot={shot}", "--window-size=1280,3000")
    assert console == []
    from matplotlib.image import imread

    pixels = imread(str(shot))
    assert pixels.shape[:2] == (3000, 1280) and pixels.std() > 0.05  # something drawn, not a blank page
    dom, console = chromium(book / "index.html", tmp_path, "--dump-dom")
    assert console == []
    doc = parse(dom)
    assert {i.attr("id") for i in doc.all("img")} == {"histogram", "marks"}
    assert len(doc.by_id("similarity").all("mark")) == 2


def test_a_broken_or_outside_image_would_be_caught(book, tmp_path):
    """The check above can fail: a copy of the page with an image that does not decode and one from outside."""
    text = (book / "index.html").read_text()
    bad = '<img alt="broken" src="data:image/png;base64,AAAA"><img alt="outside" src="https://example.invalid/x.png">'
    copy = tmp_path / "index.html"
    copy.write_text(text.replace("<h1>", bad + "<h1>", 1))
    _, console = chromium(copy, tmp_path, "--dump-dom")
    said = "\n".join(console)
    assert "an image did not load: broken" in said and "an image did not load: outside" in said
    assert "Content Security Policy" in said


def test_the_students_table_sorts_by_a_click(book, tmp_path):
    """A copy of the page with a script that clicks the 'score' heading (its hash added to the policy)."""
    click = 'document.querySelectorAll("#students th button")[1].click();'
    digest = "'sha256-" + base64.b64encode(hashlib.sha256(click.encode()).digest()).decode() + "'"
    text = (book / "index.html").read_text()
    text = text.replace(classpage.CSP, classpage.CSP.replace("script-src ", f"script-src {digest} "), 1)
    copy = tmp_path / "index.html"
    copy.write_text(text.replace("</body>", f"<script>{click}</script></body>"))
    dom, console = chromium(copy, tmp_path, "--dump-dom")
    assert console == []
    before = parse(text).by_id("students").all("tbody")
    errors, rows = parse(dom).by_id("students").all("tbody")
    assert [tr.attr("data-student") for tr in errors.all("tr")] == [
        tr.attr("data-student") for tr in before[0].all("tr")
    ]  # the error rows stay on top, as they were
    scores = [float(tr.all("td")[1].attr("data-sort")) for tr in rows.all("tr")]
    assert scores == sorted(scores) and scores != [
        float(tr.all("td")[1].attr("data-sort")) for tr in before[1].all("tr")
    ]
    heads = parse(dom).by_id("students").all("th")
    assert [h.attrs.get("aria-sort") for h in heads][:3] == [None, "ascending", None]
