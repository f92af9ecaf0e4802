"""The interactive API documentation page, served from files inside the package."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

from kamcrm.org.access import public

bp = Blueprint("api_docs", __name__)


@bp.get("/docs")
@public
def page():
    """Show Swagger UI on the OpenAPI document (no CDN: assets are in static/apidocs)."""
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))
