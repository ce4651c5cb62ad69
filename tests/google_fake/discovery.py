"""Routes, parameter checks and body validation taken from the discovery documents that
google-api-python-client ships (``discovery_cache/documents/calendar.v3.json``, ``gmail.v1.json``).

The fake server therefore accepts exactly the methods, parameters and request bodies that the
real APIs describe, and rejects unknown properties, wrong types and missing required fields with
Google's ``400`` error shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from googleapiclient.discovery_cache import get_static_doc

# Query parameters every Google API accepts (the "standard parameters").
STANDARD_PARAMETERS = {
    "alt",
    "fields",
    "key",
    "oauth_token",
    "prettyPrint",
    "quotaUser",
    "userIp",
    "$.xgafv",
    "access_token",
    "callback",
    "uploadType",
    "upload_protocol",
}


class ApiError(Exception):
    """An error answer in Google's JSON error format."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        domain: str = "global",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body Google sends with this error."""
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [{"domain": self.domain, "reason": self.reason, "message": self.message}],
            }
        }


def bad_request(message: str, reason: str = "invalid") -> ApiError:
    """A ``400`` error."""
    return ApiError(400, reason, message)


@dataclass(frozen=True)
class Method:
    """One API method of a discovery document."""

    id: str
    http_method: str
    pattern: re.Pattern[str]
    parameters: Mapping[str, Any]
    request_schema: str | None
    doc: Mapping[str, Any]


@cache
def document(api: str, version: str) -> dict[str, Any]:
    """The discovery document bundled with the library."""
    return json.loads(get_static_doc(api, version))


def _walk(resources: Mapping[str, Any]):
    for resource in resources.values():
        yield from resource.get("methods", {}).values()
        yield from _walk(resource.get("resources", {}))


def _pattern(prefix: str, template: str) -> re.Pattern[str]:
    regex = re.escape(prefix)
    for literal, plus, name in re.findall(r"([^{]*)(?:\{(\+?)([^}]+)\})?", template):
        regex += re.escape(literal)
        if name:
            regex += f"(?P<{name}>{'.+' if plus else '[^/]+'})"
    return re.compile(regex + "$")


@cache
def methods(api: str, version: str) -> tuple[Method, ...]:
    """Every method of the API, with its URL pattern below ``/<servicePath>``."""
    doc = document(api, version)
    prefix = "/" + doc["servicePath"]
    found = []
    for method in _walk(doc["resources"]):
        template = method.get("flatPath", method["path"])
        found.append(
            Method(
                id=method["id"],
                http_method=method["httpMethod"],
                pattern=_pattern(prefix, template),
                parameters=method.get("parameters", {}),
                request_schema=(method.get("request") or {}).get("$ref"),
                doc=method,
            )
        )
    # Literal paths first, so ".../events/quickAdd" is not taken for ".../events/{eventId}".
    found.sort(key=lambda m: m.pattern.pattern.count("(?P<"))
    return tuple(found)


def check_parameters(method: Method, query: Mapping[str, list[str]]) -> dict[str, Any]:
    """The query parameters converted to Python values; ApiError when one is unknown or bad."""
    values: dict[str, Any] = {}
    for name, raw in query.items():
        if name in STANDARD_PARAMETERS:
            continue
        spec = method.parameters.get(name)
        if spec is None or spec.get("location") != "query":
            raise bad_request(f"Unknown parameter: {name!r} for {method.id}")
        converted = [_convert(name, spec, item) for item in raw]
        if not spec.get("repeated") and len(converted) > 1:
            raise bad_request(f"Parameter {name!r} is not repeated")
        values[name] = converted if spec.get("repeated") else converted[0]
    for name, spec in method.parameters.items():
        if spec.get("location") == "query" and spec.get("required") and name not in values:
            raise bad_request(f"Required parameter: {name}", reason="required")
    return values


def _convert(name: str, spec: Mapping[str, Any], raw: str) -> Any:
    kind = spec.get("type")
    try:
        if kind == "integer":
            value: Any = int(raw)
            if "minimum" in spec and value < int(spec["minimum"]):
                raise ValueError
            if "maximum" in spec and value > int(spec["maximum"]):
                raise ValueError
        elif kind == "boolean":
            if raw not in ("true", "false"):
                raise ValueError
            value = raw == "true"
        else:
            value = raw
    except ValueError:
        raise bad_request(f"Invalid value for parameter {name!r}: {raw!r}") from None
    if "enum" in spec and value not in spec["enum"]:
        raise bad_request(f"Invalid value for parameter {name!r}: {raw!r}")
    return value


def validate_body(api: str, version: str, method: Method, body: Any) -> None:
    """Check a request body against the method's request schema (types, unknown properties,
    fields the schema annotates as required for this method)."""
    if method.request_schema is None:
        if body is not None:
            raise bad_request(f"{method.id} takes no request body")
        return
    if body is None:
        raise bad_request(f"{method.id} needs a request body", reason="required")
    schemas = document(api, version)["schemas"]
    _validate(body, {"$ref": method.request_schema}, schemas, method.id, "")


def _validate(
    value: Any, schema: Mapping[str, Any], schemas: Mapping[str, Any], mid: str, where: str
) -> None:
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type", "any")
    here = where or "body"
    if kind == "object":
        if not isinstance(value, dict):
            raise bad_request(f"Invalid value at '{here}': expected an object")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            path = f"{where}.{key}" if where else key
            if key in properties:
                _validate(item, properties[key], schemas, mid, path)
            elif extra is not None:
                _validate(item, extra, schemas, mid, path)
            else:
                raise bad_request(f"Invalid JSON payload: unknown name {path!r}")
        for key, prop in properties.items():
            if mid in (prop.get("annotations") or {}).get("required", []) and key not in value:
                path = f"{where}.{key}" if where else key
                raise bad_request(f"Missing {path}", reason="required")
    elif kind == "array":
        if not isinstance(value, list):
            raise bad_request(f"Invalid value at '{here}': expected a list")
        for index, item in enumerate(value):
            _validate(item, schema.get("items", {}), schemas, mid, f"{here}[{index}]")
    elif kind == "string":
        if not isinstance(value, str):
            raise bad_request(f"Invalid value at '{here}': expected a string")
        _check_format(value, schema.get("format"), here)
        if "enum" in schema and value not in schema["enum"]:
            raise bad_request(f"Invalid value at '{here}': {value!r}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad_request(f"Invalid value at '{here}': expected an integer")
    elif kind == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise bad_request(f"Invalid value at '{here}': expected a number")
    elif kind == "boolean" and not isinstance(value, bool):
        raise bad_request(f"Invalid value at '{here}': expected a boolean")


def _check_format(value: str, fmt: str | None, where: str) -> None:
    try:
        if fmt == "date-time":
            datetime.fromisoformat(value)
        elif fmt == "date":
            date.fromisoformat(value)
        elif fmt in ("int64", "uint64"):
            int(value)
    except ValueError:
        raise bad_request(f"Invalid value at '{where}': not a valid {fmt}: {value!r}") from None
