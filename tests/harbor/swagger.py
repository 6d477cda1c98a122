"""Strict checks of requests and responses against Harbor's published swagger 2.0 file.

This is test code (never shipped). It reads harbor/swagger.yaml of the reference files (tests/reference:
../shared/reference, else the verified download cache; or the file named by HARBOR_SWAGGER) and answers three questions for the Harbor API double:

* which operation does ``METHOD /api/v2.0/...`` address (path templates, literal segments
  winning over ``{params}`` as in Harbor's router)?
* are the query, path and header parameters known and of the declared type?
* does a JSON body match the schema (``$ref`` resolved, unknown properties rejected,
  wrong types rejected, ``required`` and ``readOnly`` honoured, ``x-nullable`` for null)?

Two rules follow how Harbor's go-swagger server reads its own schemas:
``{type: object}`` with neither ``properties`` nor ``additionalProperties`` is "any JSON
value" (go-swagger generates ``interface{}`` for it, e.g. retention rule ``params``), and
integer formats int32/int64 bound the value range. Unknown properties are rejected even
though Harbor would silently drop them: a property Harbor drops is a setting that is lost.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from tests import reference

SWAGGER = "harbor/swagger.yaml"

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_INT = re.compile(r"^-?\d+$")
_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
         "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
_RANGES = {"int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1)}


def swagger_path():
    """HARBOR_SWAGGER, else the reference copy (the calling test skips, with the reason, when there is none)."""
    if os.environ.get("HARBOR_SWAGGER"):
        return Path(os.environ["HARBOR_SWAGGER"])
    return reference.require(SWAGGER)


class Route:
    def __init__(self, template, item):
        self.template = template
        self.item = item
        names = []
        parts = []
        for segment in template.strip("/").split("/"):
            match = re.fullmatch(r"\{(\w+)\}", segment)
            if match:
                names.append(match.group(1))
                parts.append("([^/]+)")
            else:
                parts.append(re.escape(segment))
        trailing = "/" if template.endswith("/") and template != "/" else ""
        self.regex = re.compile("^/" + "/".join(parts) + trailing + "$")
        self.names = names
        # literal segments first, like Harbor's router (/users/current before /users/{user_id})
        self.rank = (len(names), template)


class Swagger:
    """The parsed swagger file with request/response checks. Messages are plain sentences."""

    def __init__(self, path=None):
        self.path = Path(path) if path else swagger_path()
        with open(self.path, encoding="utf-8") as handle:
            self.doc = yaml.safe_load(handle)
        self.base_path = self.doc.get("basePath", "")
        self.routes = sorted((Route(t, item) for t, item in self.doc["paths"].items()), key=lambda r: r.rank)

    # -- lookup ---------------------------------------------------------------------------
    def resolve(self, node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError("only local $ref are supported, got %s" % ref)
            target = self.doc
            for key in ref[2:].split("/"):
                target = target[key]
            node = target
            seen += 1
            if seen > 50:
                raise ValueError("$ref loop at %s" % ref)
        return node

    def match(self, method, path):
        """(route, operation, path_params) or raise SwaggerViolation."""
        if not path.startswith(self.base_path + "/"):
            raise SwaggerViolation(404, ["%s is outside the API base path %s" % (path, self.base_path)])
        rel = path[len(self.base_path):]
        for route in self.routes:
            found = route.regex.match(rel)
            if found:
                op = route.item.get(method.lower())
                if op is None:
                    raise SwaggerViolation(405, ["%s %s: the swagger declares no %s on %s (it has %s)" % (
                        method, path, method, route.template,
                        ", ".join(sorted(m.upper() for m in route.item if m != "parameters")))])
                return route, op, dict(zip(route.names, found.groups()))
        raise SwaggerViolation(404, ["%s %s: no path in the swagger matches %s" % (method, path, rel)])

    def parameters(self, op):
        return [self.resolve(p) for p in op.get("parameters", [])]

    # -- requests -------------------------------------------------------------------------
    def check_request(self, method, path, query, headers, body, has_body):
        """Validate one request. ``query`` maps names to lists of strings; ``headers`` is a
        case-insensitive mapping; ``body`` the parsed JSON (when ``has_body``).

        Returns (operation, params) where params maps every declared parameter that was
        given (or has a default) to its typed value; raises SwaggerViolation.
        """
        route, op, raw_path = self.match(method, path)
        where = "%s %s%s" % (method, self.base_path, route.template)
        errors = []
        values = {}
        declared = self.parameters(op)
        known_query = set(p["name"] for p in declared if p["in"] == "query")
        for name in sorted(set(query) - known_query):
            errors.append("%s: unknown query parameter %r (declared: %s)" % (
                where, name, ", ".join(sorted(known_query)) or "none"))
        body_param = None
        for param in declared:
            location, name = param["in"], param["name"]
            if location == "body":
                body_param = param
                continue
            if location == "query":
                raw = query.get(name)
                if raw is not None and len(raw) > 1:
                    errors.append("%s: query parameter %r given %d times" % (where, name, len(raw)))
                raw = raw[0] if raw else None
            elif location == "path":
                raw = raw_path.get(name)
            elif location == "header":
                raw = headers.get(name)
            else:
                errors.append("%s: parameter location %r is not supported by the double" % (where, location))
                continue
            if raw is None:
                if param.get("required"):
                    errors.append("%s: required %s parameter %r is missing" % (where, location, name))
                elif "default" in param:
                    values[name] = param["default"]
                continue
            value, problem = self._typed(param, raw)
            if problem:
                errors.append("%s: %s parameter %r=%r %s" % (where, location, name, raw, problem))
            else:
                values[name] = value
        if body_param is None:
            if has_body:
                errors.append("%s: the operation takes no request body, but one was sent" % where)
        elif not has_body:
            if body_param.get("required"):
                errors.append("%s: the request body (%s) is required" % (where, body_param["name"]))
        else:
            errors.extend(self.validate(body_param.get("schema", {}), body, "%s body" % where, direction="request"))
            values[body_param["name"]] = body
        if errors:
            raise SwaggerViolation(400, errors)
        return op, values

    def _typed(self, param, raw):
        kind = param.get("type", "string")
        if kind == "integer":
            if not _INT.match(raw):
                return None, "is not an integer"
            value = int(raw)
            low, high = _RANGES.get(param.get("format"), (None, None))
            if low is not None and not low <= value <= high:
                return None, "is out of the %s range" % param["format"]
        elif kind == "boolean":
            if raw not in _BOOL:
                return None, "is not a boolean"
            value = _BOOL[raw]
        elif kind == "string":
            value = raw
            if "minLength" in param and len(raw) < param["minLength"]:
                return None, "is shorter than %d" % param["minLength"]
        else:
            return None, "has type %r, which the double cannot parse" % kind
        if "maximum" in param and value > param["maximum"]:
            return None, "is above the maximum %s" % param["maximum"]
        if "minimum" in param and value < param["minimum"]:
            return None, "is below the minimum %s" % param["minimum"]
        if "enum" in param and value not in param["enum"]:
            return None, "is not one of %s" % param["enum"]
        return value, None

    # -- responses ------------------------------------------------------------------------
    def check_response(self, method, op, status, headers, body, has_body):
        """Problems with a response the double is about to send (list of sentences)."""
        where = "response %s of %s" % (status, op.get("operationId", method))
        responses = op.get("responses", {})
        spec = responses.get(str(status)) or responses.get("default")
        if spec is None and status >= 400:
            # Harbor renders every error through one handler as the Errors model, whether or
            # not the operation lists that status (GET /projects/{id} answers 404 although
            # only 200/401/500 are declared).
            spec = {"schema": {"$ref": "#/definitions/Errors"}}
        if spec is None:
            return ["%s: status %s is not declared (declared: %s)" % (where, status, ", ".join(sorted(responses)))]
        spec = self.resolve(spec)
        errors = []
        declared_headers = spec.get("headers", {})
        for name in ("X-Total-Count", "Link", "Location"):
            if headers.get(name) is not None and name not in declared_headers:
                errors.append("%s: header %s is not declared" % (where, name))
        total = headers.get("X-Total-Count")
        if total is not None and not _INT.match(str(total)):
            errors.append("%s: X-Total-Count %r is not an integer" % (where, total))
        schema = spec.get("schema")
        if schema is None and status >= 400:
            schema = {"$ref": "#/definitions/Errors"}  # the same handler renders every error
        if schema is None:
            if has_body:
                errors.append("%s: the swagger declares no body, but the double sent one" % where)
        elif has_body:
            errors.extend(self.validate(schema, body, where, direction="response"))
        return errors

    def response_schema(self, op, status):
        """The schema of a 2xx response body of ``op``, or None."""
        spec = op.get("responses", {}).get(str(status))
        if spec is None:
            return None
        return self.resolve(spec).get("schema")

    def omit_empty(self, schema, value):
        """``value`` as Harbor's go-swagger models serialise it: a boolean property that is not
        required, not ``x-nullable`` and not ``x-omitempty: false`` is a plain Go ``bool`` tagged
        ``json:",omitempty"``, so ``false`` is left out of the JSON (Harbor's models are generated
        from api/v2.0/swagger.yaml by go-swagger, Makefile target gen_apis; the handlers, e.g.
        src/server/v2.0/handler/model/webhook_policy.go ToTargets, copy the value into them)."""
        schema = self.resolve(schema) if isinstance(schema, dict) else {}
        if isinstance(value, list):
            return [self.omit_empty(schema.get("items") or {}, item) for item in value]
        if not isinstance(value, dict):
            return value
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        required = set(schema.get("required") or [])
        result = {}
        for name, item in value.items():
            if name in props:
                sub = props[name]
                resolved = self.resolve(sub)
                omitted = (item is False and resolved.get("type") == "boolean" and name not in required
                           and not (sub.get("x-nullable") or resolved.get("x-nullable"))
                           and sub.get("x-omitempty", resolved.get("x-omitempty", True)) is not False)
                if omitted:
                    continue
                result[name] = self.omit_empty(sub, item)
            elif isinstance(extra, dict):
                result[name] = self.omit_empty(extra, item)
            else:
                result[name] = item
        return result

    # -- schemas --------------------------------------------------------------------------
    def validate(self, schema, value, where, direction="request"):
        errors = []
        self._validate(schema, value, where, direction, errors)
        return errors

    def _validate(self, schema, value, where, direction, errors):
        nullable = bool(schema.get("x-nullable")) if isinstance(schema, dict) else False
        schema = self.resolve(schema)
        nullable = nullable or bool(schema.get("x-nullable"))
        if value is None:
            if not nullable:
                errors.append("%s: null is not allowed here" % where)
            return
        kind = schema.get("type")
        if kind is None and "properties" in schema:
            kind = "object"
        if kind == "object":
            props = schema.get("properties")
            extra = schema.get("additionalProperties")
            if props is None and extra is None:
                return  # go-swagger: interface{}, any JSON value
            if not isinstance(value, dict):
                errors.append("%s: expected an object, got %s" % (where, _kind(value)))
                return
            props = props or {}
            for name in schema.get("required", []):
                if name not in value:
                    errors.append("%s: required property %r is missing" % (where, name))
            for name, item in value.items():
                path = "%s.%s" % (where, name)
                if name in props:
                    sub = props[name]
                    if direction == "request" and self.resolve(sub).get("readOnly", sub.get("readOnly")):
                        errors.append("%s: property %r is read-only and must not be sent" % (where, name))
                        continue
                    self._validate(sub, item, path, direction, errors)
                elif isinstance(extra, dict):
                    self._validate(extra, item, path, direction, errors)
                elif extra is True:
                    continue
                else:
                    errors.append("%s: unknown property %r (known: %s)" % (where, name, ", ".join(sorted(props))))
            return
        if kind == "array":
            if not isinstance(value, list):
                errors.append("%s: expected an array, got %s" % (where, _kind(value)))
                return
            for index, item in enumerate(value):
                self._validate(schema.get("items", {}), item, "%s[%d]" % (where, index), direction, errors)
            return
        if kind == "string":
            if not isinstance(value, str):
                errors.append("%s: expected a string, got %s %r" % (where, _kind(value), value))
                return
            if schema.get("format") == "date-time" and not _DATE_TIME.match(value):
                errors.append("%s: %r is not an RFC 3339 date-time" % (where, value))
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                errors.append("%s: longer than %d characters" % (where, schema["maxLength"]))
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                errors.append("%s: expected an integer, got %s %r" % (where, _kind(value), value))
                return
            low, high = _RANGES.get(schema.get("format"), (None, None))
            if low is not None and not low <= value <= high:
                errors.append("%s: %d is out of the %s range" % (where, value, schema["format"]))
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errors.append("%s: expected a number, got %s %r" % (where, _kind(value), value))
                return
        elif kind == "boolean":
            if not isinstance(value, bool):
                errors.append("%s: expected a boolean, got %s %r" % (where, _kind(value), value))
                return
        elif kind is not None:
            errors.append("%s: the double does not know schema type %r" % (where, kind))
            return
        if "enum" in schema and value not in schema["enum"]:
            errors.append("%s: %r is not one of %s" % (where, value, schema["enum"]))


def _kind(value):
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


class SwaggerViolation(Exception):
    def __init__(self, status, messages):
        super().__init__("; ".join(messages))
        self.status = status
        self.messages = messages
