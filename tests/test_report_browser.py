"""A study report, rendered by a real browser, shows its figures and headings.

Headless Chromium loads the self-contained HTML report (figures as data: URIs). A
script injected into a copy of the report sets ``document.title`` to whether every
image decoded (``complete && naturalWidth > 0``) and every expected heading exists;
``--dump-dom`` returns the DOM after scripts ran. A screenshot checks that the page
is not blank.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest

import effekt as ek
from effekt.study import Study, Treatment

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

_PROBE = """
<script>
window.addEventListener('load', function () {
  var imgs = Array.from(document.images);
  var ok = imgs.length > 0 && imgs.every(function (i) { return i.complete && i.naturalWidth > 0; });
  var heads = Array.from(document.querySelectorAll('h1, h2')).map(function (h) {
    return h.textContent; });
  var need = %s;
  var all = need.every(function (n) { return heads.indexOf(n) >= 0; });
  document.title = 'PROBE imgs=' + imgs.length + ' ok=' + ok + ' headings=' + all;
});
</script>
"""


def _chromium(*args: str, profile) -> subprocess.CompletedProcess:
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    world = ek.simulate.denmark(n_areas=40, years=(2005, 2016), seed=1)
    study = Study(
        outcomes=("youth_charged_per_1000",),
        treatment=Treatment(kinds=("lbf_helhedsplan",)),
        title="Browser test",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        result = study.run(world, designs=("did", "synth"), synth_reps=30)
    path = tmp_path_factory.mktemp("report") / "report.html"
    result.to_report(path, language="da")
    return path


def test_browser_shows_images_and_headings(report, tmp_path):
    # the Danish headings StudyResult.to_report writes (effekt/study/_result.py _WORDS["da"])
    need = ["Browser test", "Svaret kort", "Estimater", "Diagnostik af troværdigheden"]
    html = report.read_text(encoding="utf-8")
    probe = _PROBE % ("[" + ",".join(f"'{h}'" for h in need) + "]")
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
    out = _chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert out.returncode == 0, out.stderr[-2000:]
    title = re.search(r"<title>(.*?)</title>", out.stdout)
    assert title is not None, out.stdout[:500]
    assert title.group(1) == "PROBE imgs=1 ok=true headings=true", title.group(1)


def test_screenshot_is_not_blank(report, tmp_path):
    import matplotlib.image as mpimg

    shot = tmp_path / "shot.png"
    out = _chromium(
        f"--screenshot={shot}",
        "--window-size=1200,2400",
        report.as_uri(),
        profile=tmp_path / "profile",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    pixels = mpimg.imread(shot)
    assert pixels.shape[0] == 2400 and pixels.shape[1] == 1200
    grey = pixels[..., :3].mean(axis=2)
    # a blank page is one colour; text, tables and the figure give a spread of greys
    assert float(np.var(grey)) > 1e-3
    assert float((grey < 0.5).mean()) > 0.001  # some dark (text) pixels
