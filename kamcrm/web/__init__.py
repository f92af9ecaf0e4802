"""Server-rendered pages."""
from flask import Flask


def init_app(app: Flask) -> None:
    """Register the page blueprints."""
    from kamcrm.web.views import bp

    app.register_blueprint(bp)
