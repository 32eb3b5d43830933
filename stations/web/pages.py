"""HTML pages: the API docs page (and, with the maps work, the locator and the map)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__, template_folder="templates")


@bp.get("/docs")
def docs_page():
    return render_template("docs.html")
