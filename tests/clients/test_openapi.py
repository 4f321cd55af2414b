"""The OpenAPI document ecsd serves at /openapi.json (no credentials) is a
valid OpenAPI 3 document by an independent validator, and describes the
ECS-native and admin APIs."""

import json
import urllib.request

from openapi_spec_validator import validate


def test_served_document_is_valid_openapi(hw_endpoint):
    with urllib.request.urlopen(f"{hw_endpoint}/openapi.json", timeout=30) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("application/json")
        doc = json.load(r)
    validate(doc)
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert "post" in paths["/v1/{project_id}/cloudservers"]
    assert "post" in paths["/v1/{project_id}/cloudservers/action"]
    assert "get" in paths["/v1/{project_id}/jobs/{job_id}"]
    assert {"get", "put"} <= set(paths["/admin/v1/simulator"])
