"""A project's OpenAPI document, with its registered types as components, is valid OpenAPI 3.1
(openapi-spec-validator), and a resource the server accepted validates against its type's
component (jsonschema, resolving the document's own references)."""

import jsonschema
import requests
from openapi_spec_validator import validate

from conftest import Server

SCHEMA = {
    "type": "object",
    "$defs": {"count": {"type": "integer", "minimum": 1}},
    "properties": {"cpus": {"$ref": "#/$defs/count"}, "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["cpus"],
}


def test_project_document_with_types_is_valid_and_describes_its_resources():
    server = Server({})
    try:
        r = server.call("POST", "/v1/types", {"name": "machine", "schema": SCHEMA, "description": "A build machine",
                                              "attributes": {"region": {"required": True, "enum": ["eu", "us"]}}})
        assert r.status_code == 201, r.text
        doc = requests.get(server.url + "/openapi.json", headers={"X-API-Key": server.admin_key}, timeout=10).json()
        assert {"machine.data", "machine.resource"} <= set(doc["components"]["schemas"])
        validate(doc)
        created = server.call("POST", "/v1/resource", {"name": "m1", "type": "machine", "attributes": {"region": "eu"},
                                                       "data": {"cpus": 4, "tags": ["ci"]}})
        assert created.status_code == 201, created.text
        root = {"$ref": "#/components/schemas/machine.resource", "components": doc["components"]}
        jsonschema.Draft202012Validator(root).validate(created.json())
        bad = dict(created.json(), data={"cpus": 0})
        errors = list(jsonschema.Draft202012Validator(root).iter_errors(bad))
        assert errors, "a resource the server would refuse does not validate against the component either"
    finally:
        server.stop()
