"""Read a PDF back in tests: its text, its embedded fonts, its pages as pictures.

Python wheels only, so reading a PDF needs no system package: pypdf for the text and the
fonts, pypdfium2 (which bundles PDFium) to draw the pages. PDFium's own text extraction is
not used: it shows the NIKHAHIT glyph of SARA AM as a stray character.
"""

from __future__ import annotations

import io

import pypdf
import pypdfium2
from PIL import Image


def pdf_text(content: bytes) -> str:
    """Return the text of every page (pypdf, which honours the fonts' ToUnicode maps exactly),
    each page ending in a form feed as ``pdftotext`` writes it."""
    return "".join(
        page.extract_text() + "\f" for page in pypdf.PdfReader(io.BytesIO(content)).pages
    )


def pdf_pages(content: bytes, dpi: int = 50) -> list[Image.Image]:
    """Render every page to an RGB picture at ``dpi`` dots per inch."""
    document = pypdfium2.PdfDocument(content)
    try:
        images = []
        for page in document:
            images.append(page.render(scale=dpi / 72).to_pil().convert("RGB"))
            page.close()
        return images
    finally:
        document.close()


def embedded_fonts(content: bytes) -> set[str]:
    """Return the names of the fonts embedded in the PDF, without their subset prefix."""
    names = set()
    for page in pypdf.PdfReader(io.BytesIO(content)).pages:
        fonts = page.get("/Resources", {}).get_object().get("/Font", {}).get_object()
        for reference in fonts.values():
            font = reference.get_object()
            descriptors = [font.get("/FontDescriptor")]
            descriptors += [
                child.get_object().get("/FontDescriptor")
                for child in font.get("/DescendantFonts", [])
            ]
            for descriptor in filter(None, descriptors):
                descriptor = descriptor.get_object()
                if any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
                    names.add(str(descriptor["/FontName"]).lstrip("/").split("+")[-1])
    return names
