"""HTML to PDF with WeasyPrint, set in the Thai font shipped inside the package.

The font is referenced by a ``file://`` URL and every other scheme is refused, so rendering
never reaches the network (no CDN, no remote image).
"""

from __future__ import annotations

from pathlib import Path

#: The Thai TrueType fonts shipped with kamcrm: TLWG Laksaman (GPL with the font exception),
#: rebuilt by ``fontbuild`` so that text copied out of a PDF keeps its SARA AM.
FONT_DIR = Path(__file__).resolve().parent.parent.parent / "static" / "fonts"
#: The family name the stylesheets use. It is not "Laksaman" so that the system's copy (which
#: lacks the SARA AM fix, see ``fontbuild``) never wins. Names of fonts the machine lacks
#: must not be listed: fontconfig substitutes them and Pango then spaces the text wrongly.
FONT_FAMILY = "'KamcrmThai', 'Laksaman', sans-serif"
_FACES = (("Laksaman.ttf", "normal"), ("Laksaman-Bold.ttf", "bold"))


def font_face_css(base_url: str | None = None) -> str:
    """Return the ``@font-face`` rules of the shipped Thai font.

    ``base_url`` is where the font files are served (e.g. ``url_for('static',
    filename='fonts/')`` on a page); the default is the package folder as a ``file://`` URL,
    which WeasyPrint and a browser opening a saved file can both read.
    """
    base = base_url or FONT_DIR.as_uri() + "/"
    if not base.endswith("/"):
        base += "/"
    return "\n".join(
        "@font-face { font-family: 'KamcrmThai'; font-style: normal; "
        f"font-weight: {weight}; src: url('{base}{name}') format('truetype'); }}"
        for name, weight in _FACES
    )


def local_url_fetcher():
    """Return a WeasyPrint URL fetcher that reads only ``file:`` and ``data:`` URLs."""
    import weasyprint

    if hasattr(weasyprint, "URLFetcher"):  # WeasyPrint 70 and later
        return weasyprint.URLFetcher(allowed_protocols={"file", "data"}, fail_on_errors=True)

    def fetch(url: str, *args, **kwargs):  # older releases take a plain function
        if not url.startswith(("file:", "data:")):
            raise ValueError(f"refusing to fetch {url!r}: PDFs use only files shipped with kamcrm")
        return weasyprint.default_url_fetcher(url, *args, **kwargs)

    return fetch


def render_pdf(html: str, base_url: str | None = None) -> bytes:
    """Return ``html`` as PDF bytes; only ``file:`` and ``data:`` URLs are fetched."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    document = HTML(
        string=html, base_url=base_url or FONT_DIR.as_uri() + "/", url_fetcher=local_url_fetcher()
    )
    return document.write_pdf(font_config=fonts)
