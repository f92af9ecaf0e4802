"""Pages."""
from flask import Blueprint, render_template

bp = Blueprint("web", __name__)


@bp.get("/")
def home():
    """Show the home page."""
    return render_template("web/home.html")
