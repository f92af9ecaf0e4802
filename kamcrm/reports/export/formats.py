"""What every report's downloads share: the JSON body, the default file name, and choosing
the renderer of a format."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping


def report_json(report: dict) -> bytes:
    """Return a report as UTF-8 JSON (Thai kept readable)."""
    return (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def report_filename(form: str, report: dict, fmt: str) -> str:
    """Return a default file name, e.g. ``CR2_R2_2021_as-of_2021-06-30.pdf``."""
    return f"{form}_{report['scope']}_{report['year']}_as-of_{report['as_of']}.{fmt}"


def render_as(
    fmt: str, report: dict, renderers: Mapping[str, Callable[..., bytes]], **options
) -> bytes:
    """Return ``report`` in ``fmt`` by its renderer (``json`` takes no options)."""
    if fmt == "json":
        return report_json(report)
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; use one of json, {', '.join(renderers)}")
    return renderers[fmt](report, **options)
