"""Render the runner's HTML report in headless Chromium and say whether its trials table reads.

Tunes a copy of the toy project of the tests (``tests/atune_bridge/projects/toy``: a config
file for a service and a benchmark that is a formula) for ``--trials`` trials with the
``random`` stand-in (not a model) beside TPE, writes the report, and opens it in headless
Chromium at ``--width`` pixels (1,400 by default). In the page it measures every word of the
trials table: a word laid out on two lines is broken mid-word (``COMPLE TE``); a line may
end after a hyphen or a slash, and a word wider than its text's capped width (26 em) has to
break, which is counted apart. It prints the
words broken, each column's share of the table's width and how many of its cells are empty,
and where the screenshot is; exit status 1 when a word breaks or the table is wider than the
window. ``bash scripts/render_report.sh`` installs Chromium (Debian's ``chromium``) and runs it.

    .venv/bin/python scripts/render_report.py [--out DIR] [--trials N] [--width PX]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "tests" / "atune_bridge" / "projects" / "toy"

# Measures the trials table once the page has laid out, and writes the result into the page
# (read back from Chromium's --dump-dom).
MEASURE = """
<script>
window.addEventListener("load", () => {
  const table = document.getElementById("trials");
  const heads = [...table.querySelectorAll("thead th")].map(th => th.textContent);
  const broken = [];
  const columns = heads.map((h, i) => ({header: h, width: 0, empty: 0, cells: 0}));
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, i) => {
      columns[i].cells += 1;
      if (!cell.textContent.trim()) columns[i].empty += 1;
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        // A word is a run of letters up to a space, or a hyphen or slash (after which the
        // browser may break a line, as typesetting does).
        for (const m of node.data.matchAll(/[^\\s\\-\\/]+[\\-\\/]?/g)) {
          const range = document.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
          if (tops.size > 1) {
            // A word wider than the capped width of its text (td.text div) has to break there.
            const box = node.parentElement.closest("td.text div");
            const cap = box ? parseFloat(getComputedStyle(box).maxWidth) : Infinity;
            const probe = document.createElement("span");
            probe.style.whiteSpace = "nowrap";
            probe.textContent = m[0];
            node.parentElement.appendChild(probe);
            const width = probe.getBoundingClientRect().width;
            probe.remove();
            broken.push({trial: row.children[0].textContent, column: heads[i], word: m[0],
                         longer_than_cap: width > cap});
          }
        }
      }
    });
  }
  table.querySelectorAll("thead th").forEach((th, i) => { columns[i].width = th.getBoundingClientRect().width; });
  const result = {window: window.innerWidth, table: table.getBoundingClientRect().width,
                  page: document.documentElement.scrollWidth, broken, columns};
  const out = document.createElement("pre");
  out.id = "measured";
  out.style.display = "none";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>
"""
# The screenshot shows the table: the plots above it are hidden.
HIDE_PLOTS = "<style>.plot{display:none}</style>"


def build_report(out: Path, trials: int) -> Path:
    """Tune a copy of the toy project and write its report; the report's index.html."""
    from atune_bridge import RunnerConfig, run_project

    project = out / "toy"
    if project.exists():
        shutil.rmtree(project)
    shutil.copytree(TOY, project)
    config = RunnerConfig(storage=f"sqlite:///{project / 'study.db'}", llm="random:0", n_trials=trials,
                          seed=0, workdir=str(project), confirm=3, rerank=3)
    result = run_project(project / "toy_server.yaml", project / "toy_client.yaml", config,
                         output_dir=out / "report")
    return result.report.html


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("render_report: no Chromium found; bash scripts/render_report.sh installs Debian's chromium")


def render(page: Path, width: int, screenshot: Path) -> dict:
    """Open ``page`` at ``width`` px: its measurements, and a screenshot of its table."""
    text = page.read_text(encoding="utf-8")
    measured_page = page.with_name("measured.html")
    measured_page.write_text(text.replace("</body>", MEASURE + HIDE_PLOTS + "</body>"), encoding="utf-8")
    browser = chromium()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={width},2400"]
    with tempfile.TemporaryDirectory() as profile:
        flags.append(f"--user-data-dir={profile}")
        dom = subprocess.run([browser, *flags, "--dump-dom", measured_page.as_uri()],
                             capture_output=True, text=True, timeout=180)
        subprocess.run([browser, *flags, f"--screenshot={screenshot}", measured_page.as_uri()],
                       capture_output=True, text=True, timeout=180)
    found = re.search(r'<pre id="measured"[^>]*>(.*?)</pre>', dom.stdout, flags=re.S)
    if found is None:
        sys.exit(f"render_report: Chromium gave no measurement:\n{dom.stderr[-2000:]}")
    return json.loads(html.unescape(found.group(1)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="folder for the study, the report and the screenshot "
                        "(default: a new temporary folder)")
    parser.add_argument("--trials", type=int, default=16, help="trials of the toy study (default: %(default)s)")
    parser.add_argument("--width", type=int, default=1400, help="window width in px (default: %(default)s)")
    parser.add_argument("--report", type=Path, help="render this index.html instead of building a study")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="render-report-"))
    out.mkdir(parents=True, exist_ok=True)
    page = args.report or build_report(out, args.trials)
    screenshot = out / f"trials-{args.width}px.png"
    result = render(page, args.width, screenshot)

    print(f"report: {page}")
    print(f"window {result['window']} px, table {result['table']:.0f} px, page {result['page']} px wide")
    print(f"{'column':<20} {'share':>6} {'empty':>9}")
    for column in result["columns"]:
        share = column["width"] / result["table"] if result["table"] else 0.0
        print(f"{column['header']:<20} {share:>6.1%} {column['empty']:>4}/{column['cells']:<4}")
    broken = [w for w in result["broken"] if not w["longer_than_cap"]]
    for word in result["broken"]:
        why = "longer than its column's capped width" if word["longer_than_cap"] else "broken mid-word"
        print(f"{why}: trial {word['trial']}, column {word['column']}: {word['word']!r}")
    print(f"words broken mid-word: {len(broken)} (and {len(result['broken']) - len(broken)} longer than "
          "their column's capped width, which must break)")
    print(f"screenshot: {screenshot}")
    too_wide = result["page"] > result["window"]
    if too_wide:
        print("the page is wider than the window: it scrolls sideways")
    return 1 if broken or too_wide else 0


if __name__ == "__main__":
    sys.exit(main())
