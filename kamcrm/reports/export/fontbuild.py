"""Build the Thai fonts shipped in ``kamcrm/static/fonts`` from Debian's TLWG Laksaman.

Why the fonts are not copied verbatim: every shaping engine draws SARA AM (ำ) as NIKHAHIT
plus SARA AA, and WeasyPrint maps each glyph of a PDF back to the text it was first drawn
for. The SARA AA drawn for ำ is the same glyph as a plain า, so copying text out of the PDF
(or ``pdftotext``) turned every ดำเนินงาน into ดาเนินงาน. The built font adds one glyph,
``uni0E32.am`` (an exact copy of SARA AA), and a ``ccmp`` lookup that uses it for the SARA AA
that follows a NIKHAHIT (with at most one tone mark between): that glyph then maps back to ำ.
Drawing is unchanged. The change is covered by the font's GPL with the font exception.

Run ``python -m kamcrm.reports.export.fontbuild`` to rebuild the files from
``/usr/share/fonts/truetype/tlwg`` (package fonts-thai-tlwg-ttf).
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

SOURCE_DIR = Path("/usr/share/fonts/truetype/tlwg")
TARGET_DIR = Path(__file__).resolve().parent.parent.parent / "static" / "fonts"
FACES = ("Laksaman.ttf", "Laksaman-Bold.ttf")
SARA_AA, SARA_AA_AM = "uni0E32", "uni0E32.am"
NIKHAHITS = ("uni0E4D", "uni0E4D.high")
MARK_CLASS = 3


def _coverage(glyphs, font):
    from fontTools.otlLib.builder import buildCoverage

    return buildCoverage(
        [g for g in glyphs if g in font.getReverseGlyphMap()], font.getReverseGlyphMap()
    )


def _chain_rule(backtrack: list[list[str]], lookup_index: int, font):
    from fontTools.ttLib.tables import otTables as ot

    rule = ot.ChainContextSubst()
    rule.Format = 3
    rule.BacktrackGlyphCount = len(backtrack)
    rule.BacktrackCoverage = [_coverage(glyphs, font) for glyphs in backtrack]  # nearest first
    rule.InputGlyphCount = 1
    rule.InputCoverage = [_coverage([SARA_AA], font)]
    rule.LookAheadGlyphCount = 0
    rule.LookAheadCoverage = []
    record = ot.SubstLookupRecord()
    record.SequenceIndex = 0
    record.LookupListIndex = lookup_index
    rule.SubstCount = 1
    rule.SubstLookupRecord = [record]
    return rule


def build_face(source: Path, target: Path) -> None:
    """Write ``target``: ``source`` with the SARA AM glyph and lookup described above."""
    from fontTools.otlLib.builder import buildLookup, buildSingleSubstSubtable
    from fontTools.ttLib import TTFont

    font = TTFont(source)
    if SARA_AA_AM in font.getGlyphOrder():
        raise ValueError(f"{source} already has {SARA_AA_AM}")
    font.setGlyphOrder(font.getGlyphOrder() + [SARA_AA_AM])
    font["glyf"].glyphs[SARA_AA_AM] = copy.deepcopy(font["glyf"][SARA_AA])
    font["hmtx"].metrics[SARA_AA_AM] = font["hmtx"].metrics[SARA_AA]
    classes = font["GDEF"].table.GlyphClassDef.classDefs
    classes[SARA_AA_AM] = classes.get(SARA_AA, 1)
    marks = sorted(g for g, c in classes.items() if c == MARK_CLASS and g not in NIKHAHITS)

    gsub = font["GSUB"].table
    lookups = gsub.LookupList.Lookup
    single_index = len(lookups)
    lookups.append(buildLookup([buildSingleSubstSubtable({SARA_AA: SARA_AA_AM})]))
    chain_index = len(lookups)
    chain = buildLookup(
        [
            _chain_rule([list(NIKHAHITS)], single_index, font),
            _chain_rule([marks, list(NIKHAHITS)], single_index, font),
        ]
    )
    lookups.append(chain)
    gsub.LookupList.LookupCount = len(lookups)
    for record in gsub.FeatureList.FeatureRecord:
        if record.FeatureTag == "ccmp":
            record.Feature.LookupListIndex.append(chain_index)
            record.Feature.LookupCount = len(record.Feature.LookupListIndex)
    font["maxp"].numGlyphs = len(font.getGlyphOrder())
    font.save(target)


def main(argv: list[str] | None = None) -> int:
    """Rebuild the shipped fonts; return a process exit code."""
    for name in FACES:
        build_face(SOURCE_DIR / name, TARGET_DIR / name)
        print(f"wrote {TARGET_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
