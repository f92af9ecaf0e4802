"""The floor of the API benchmark: a Flask app that does nothing but what every API call must.

``python -m bench api --floor`` serves this app with the same gunicorn settings and offers it
the same ``POST /api/v1/activities`` load: it reads the JSON body and answers 201 with it, with
no authentication, no database and no validation (and ``/activities/bulk`` answers its items). Its CPU per request is what the web server,
Flask and the load generator cost on this machine before kamcrm does any work, and its
ceiling is the most any Flask application could reach here.
"""

from __future__ import annotations

from itertools import count

from flask import Flask, jsonify, request

app = Flask(__name__)
_ids = count(1)


@app.post("/api/v1/activities")
def record_activity():
    return jsonify(id=next(_ids), **request.get_json()), 201


@app.post("/api/v1/activities/bulk")
def record_activities():
    return jsonify(items=[{"id": next(_ids), **item} for item in request.get_json()["items"]]), 201


@app.get("/api/v1/openapi.json")
def ready():
    return jsonify(openapi="3.0.3")
