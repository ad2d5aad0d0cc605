"""Reading a written report the way a user sees it: in a real browser, and as numbers.

Chromium opens a copy of the page with a probe script appended (the report
itself has no script): on load, the probe records for every image whether
the browser decoded it and at what size. As root, Chromium runs in a new
network namespace, so it cannot reach any address at all.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from tests.conftest import require
from tests.integration.helpers import collector

PROBE = """<script>
addEventListener("load", () => {
  const images = [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight]);
  document.body.setAttribute("data-probe", JSON.stringify(images));
});
</script>"""


def rendered_images(html: Path, scratch: Path) -> list[tuple[bool, int, int]]:
    """(decoded, width, height) of each image of the page, as headless Chromium loaded it."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require(chromium is not None, "no chromium (apt-get install chromium)")
    probe = scratch / "probe.html"
    probe.write_text(html.read_text().replace("</body>", PROBE + "</body>"))
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability",
        "--no-pings", f"--user-data-dir={scratch / 'chromium-profile'}",
        "--virtual-time-budget=10000", "--dump-dom", probe.as_uri(),
    ]  # fmt: skip
    if os.geteuid() == 0 and shutil.which("unshare"):
        command = ["unshare", "--net", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r'data-probe="([^"]*)"', result.stdout)
    assert found, (
        f"chromium did not load the page (exit {result.returncode}): {result.stderr[-2000:]}"
    )
    return [tuple(i) for i in json.loads(found.group(1).replace("&quot;", '"'))]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


class ReportPage(HTMLParser):
    """The numbers (data-metric -> data-value) and embedded images of a report."""

    def __init__(self, html: Path) -> None:
        super().__init__()
        self.values: dict[str, float] = {}
        self.runs: dict[str, int] = {}
        self.images: list[bytes] = []
        self.captions: list[str] = []
        self.text: list[str] = []
        self._in_caption = False
        self.feed(html.read_text())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "data-metric" in a and "data-value" in a:
            self.values[a["data-metric"]] = float(a["data-value"])
            if "data-runs" in a:
                self.runs[a["data-metric"]] = int(a["data-runs"])
        if tag == "img":
            src = a.get("src") or ""
            assert src.startswith("data:image/png;base64,"), src[:60]
            self.images.append(base64.b64decode(src.split(",", 1)[1]))
        self._in_caption = tag == "figcaption"

    def handle_endtag(self, tag: str) -> None:
        self._in_caption = False if tag == "figcaption" else self._in_caption

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_caption:
            self.captions.append(data)


def report(config: Path, *args: str, scratch: Path) -> tuple[ReportPage, set[str]]:
    """Run ``collector report ARGS`` into a new directory and check what it wrote."""
    out = scratch / f"report-{len(list(scratch.glob('report-*')))}"
    result = collector("report", "-c", str(config), *args, "-o", str(out))
    assert result.returncode == 0, result.stderr
    plots = sorted(out.glob("*.png"))
    assert f"{out / 'report.html'} ({len(plots)} plot(s) beside it)" in result.stdout
    return check_report(out / "report.html", plots, scratch), {p.name for p in plots}


def check_report(html: Path, plot_files: list[Path], scratch: Path) -> ReportPage:
    """The page embeds exactly the PNG files beside it, and Chromium shows every one."""
    page = ReportPage(html)
    assert page.images, "no image in the report"
    beside = {p.read_bytes() for p in plot_files}
    assert set(page.images) == beside
    assert "http://" not in html.read_text() and "https://" not in html.read_text()
    shown = rendered_images(html, scratch)
    assert len(shown) == len(page.images)
    for (decoded, width, height), png in zip(shown, page.images, strict=True):
        assert decoded and (width, height) == png_size(png)
    return page
