"""Static export of plotly figures (SVG or PNG) without network access.

The figures are drawn by plotly.js itself in a headless Chromium (``ador.report.browser``):
a temporary page holds plotly.js (embedded, nothing fetched), and ``Plotly.toImage`` draws
each figure's JSON straight into an image. Only the browser executable is needed (Debian:
``apt-get install chromium``); no CDN, no kaleido, no Python packages beyond plotly.
"""

from __future__ import annotations

import base64
import json
import tempfile
import urllib.parse
from pathlib import Path

import plotly.graph_objects as go

from ador.errors import AdorError
from ador.report.browser import Browser, BrowserError

FORMATS = ("svg", "png")
DEFAULT_WIDTH = 1100


def _page() -> str:
    """An empty page with plotly.js inline: figures are drawn only by Plotly.toImage."""
    from plotly.offline import get_plotlyjs

    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><script type='text/javascript'>"
            + get_plotlyjs() + "</script></head><body></body></html>")


def decode_data_url(url: str) -> bytes:
    """Bytes of a ``data:`` URL as returned by Plotly.toImage (base64 or percent-encoded)."""
    head, _, payload = url.partition(",")
    if not head.startswith("data:"):
        raise BrowserError("the browser returned no image", field="browser", value=head[:40])
    if head.endswith(";base64"):
        return base64.b64decode(payload)
    return urllib.parse.unquote(payload).encode("utf-8")


def export_images(figures: dict[str, go.Figure], out_dir: str | Path, *, fmt: str = "svg",
                  browser: str | None = None, timeout_s: float = 120.0) -> list[Path]:
    """Write ``out_dir/<key>.<fmt>`` for each figure; returns the paths written.

    Raises BrowserError when no browser can be found or it fails.
    """
    if fmt not in FORMATS:
        raise AdorError(f"image format must be one of {', '.join(FORMATS)}", field="format",
                        value=fmt)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise AdorError(f"cannot create folder: {err.strerror}", file=str(out)) from None
    with tempfile.TemporaryDirectory(prefix="ador-export-") as tmp:
        page = Path(tmp) / "figures.html"
        page.write_text(_page(), encoding="utf-8")
        written = []
        with Browser(browser, timeout_s=timeout_s) as b:
            b.open(page.as_uri())
            for key, fig in figures.items():
                width = fig.layout.width or DEFAULT_WIDTH
                height = fig.layout.height or 520
                opts = {"format": fmt, "width": width, "height": height,
                        "scale": 2 if fmt == "png" else 1}
                url = b.evaluate(f"Plotly.toImage({fig.to_json()}, {json.dumps(opts)})",
                                 timeout_s=timeout_s)
                path = out / f"{key}.{fmt}"
                try:
                    path.write_bytes(decode_data_url(url or ""))
                except OSError as err:
                    raise AdorError(f"cannot write file: {err.strerror}",
                                    file=str(path)) from None
                written.append(path)
    return written
