"""Record version -> JSON Schema 2020-12, and what the validator learns from the same walk:
the element at each instance path, and which fields can still hold non-NFC text once valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dictionary.errors import CompileError
from dictionary.formats import ASCII_ONLY_FORMATS, NFC_ONLY_FORMATS
from dictionary.model import (
    CodeList,
    CodeListVersion,
    Element,
    FieldSpec,
    ObjectSpec,
    PropertyRef,
    RecordType,
    RecordVersion,
)
from dictionary.references import _element_refs

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_JSON_TYPES = {
    "string": "string",
    "integer": "integer",
    "decimal": "number",
    "boolean": "boolean",
    "date": "string",
    "datetime": "string",
    "code": "string",
    "object": "object",
    "list": "array",
}
_DEFAULT_FORMATS = {"date": "date", "datetime": "date-time"}
_CONSTRAINT_KEYWORDS = {
    "min_length": "minLength",
    "max_length": "maxLength",
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusive_minimum": "exclusiveMinimum",
    "exclusive_maximum": "exclusiveMaximum",
    "min_items": "minItems",
    "max_items": "maxItems",
}


@dataclass
class _Node:
    """Where an instance path lands: the element there, its properties and its items."""

    element: str | None
    children: dict[str, _Node] = field(default_factory=dict)
    items: _Node | None = None


class SchemaBuilder:
    def __init__(
        self,
        elements: Mapping[str, Element],
        codes: Mapping[str, CodeListVersion | None],
    ) -> None:
        self.elements = elements
        self.codes = codes

    def record_schema(self, record_type: RecordType, version: RecordVersion) -> dict[str, Any]:
        properties = {spec.name: self.field_schema(spec) for spec in version.fields}
        schema: dict[str, Any] = {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": f"urn:declare-once:record:{record_type.name}:{version.version}",
            "title": f"{record_type.name} {version.version}",
        }
        description = record_type.description_en or record_type.title_en
        if description:
            schema["description"] = description
        schema.update(
            {
                "type": "object",
                "properties": properties,
                "required": [spec.name for spec in version.fields if spec.required],
                "additionalProperties": False,
                "x-record-type": record_type.name,
                "x-version": version.version,
                "x-version-id": version.id,
            }
        )
        return schema

    def field_schema(self, spec: FieldSpec) -> dict[str, Any]:
        single = self.element_schema(spec.element, ())
        if not spec.is_list:
            return single
        schema: dict[str, Any] = {"type": "array", "items": single}
        if spec.cardinality == "1..n":
            schema["minItems"] = 1
        return schema

    def element_schema(self, element_id: str, stack: tuple[str, ...]) -> dict[str, Any]:
        if element_id in stack:
            raise CompileError([f"element {element_id} contains itself: {' -> '.join(stack)}"])
        element = self.elements[element_id]
        stack = (*stack, element_id)
        schema: dict[str, Any] = {}
        title = element.name_en or element.name_vi
        if title:
            schema["title"] = title
        if element.definition_en:
            schema["description"] = element.definition_en
        schema["x-element"] = element.id
        schema["type"] = _JSON_TYPES[element.type]
        fmt = element.format or _DEFAULT_FORMATS.get(element.type)
        if fmt:
            schema["format"] = fmt
        constraints = element.constraints
        for name, keyword in _CONSTRAINT_KEYWORDS.items():
            value = getattr(constraints, name)
            if value is not None:
                schema[keyword] = value
        if element.type == "code":
            assert element.codelist is not None
            in_force = self.codes.get(element.codelist)
            allowed = sorted(in_force.codes) if in_force is not None else []
            if constraints.enum is not None:
                allowed = [c for c in allowed if c in constraints.enum]
            schema["enum"] = allowed
            schema["x-codelist"] = element.codelist
            schema["x-codelist-version"] = in_force.version if in_force is not None else None
        elif constraints.enum is not None:
            schema["enum"] = list(constraints.enum)
        if element.type == "object":
            schema.update(self._object_schema(element.properties or {}, stack))
        elif element.type == "list":
            if isinstance(element.items, str):
                schema["items"] = self.element_schema(element.items, stack)
            elif isinstance(element.items, ObjectSpec):
                item = {"type": "object"}
                item.update(self._object_schema(element.items.properties, stack))
                schema["items"] = item
        return schema

    def _object_schema(
        self, properties: Mapping[str, PropertyRef], stack: tuple[str, ...]
    ) -> dict[str, Any]:
        return {
            "properties": {
                name: self.element_schema(prop.element, stack) for name, prop in properties.items()
            },
            "required": [name for name, prop in properties.items() if prop.required],
            "additionalProperties": False,
        }


def _path_tree(version: RecordVersion, elements: Mapping[str, Element]) -> _Node:
    def element_node(element_id: str, depth: int) -> _Node:
        element = elements[element_id]
        node = _Node(element_id)
        if depth > 32:  # a cycle; compilation refuses it, this only stops the recursion
            return node
        for name, prop in (element.properties or {}).items():
            node.children[name] = element_node(prop.element, depth + 1)
        if isinstance(element.items, str):
            node.items = element_node(element.items, depth + 1)
        elif isinstance(element.items, ObjectSpec):
            node.items = _Node(element_id)
            for name, prop in element.items.properties.items():
                node.items.children[name] = element_node(prop.element, depth + 1)
        return node

    root = _Node(None)
    for spec in version.fields:
        single = element_node(spec.element, 0)
        root.children[spec.name] = _Node(spec.element, items=single) if spec.is_list else single
    return root


_WIDE_PATTERN_TOKENS: tuple[str, ...] = (
    ".",
    "\\W",
    "\\S",
    "\\D",
    "\\w",
    "\\s",
    "\\d",
    "\\p",
    "\\P",
    "\\X",
)
_WIDE_PATTERN_TOKENS += ("\\x", "\\u", "\\U", "\\N", "[^", "(?", "|")


def _pattern_admits_only_ascii(pattern: str) -> bool:
    """Conservatively: an anchored pattern of ASCII literals and positive ASCII classes.

    Unicode-aware classes (jsonschema-rs's ``\\d`` matches any decimal digit), negations,
    flags (case folding maps K to the Kelvin sign) and alternations are all refused.
    """
    return (
        pattern.isascii()
        and pattern.startswith("^")
        and pattern.endswith("$")
        and not pattern.endswith("\\$")
        and not any(token in pattern for token in _WIDE_PATTERN_TOKENS)
    )


def _may_pass_unnormalised(
    element_id: str,
    elements: Mapping[str, Element],
    codelists: Mapping[str, CodeList],
    depth: int = 0,
) -> bool:
    """Whether a value that passed the hub's schema can still be other than NFC text.

    Values that can only be ASCII are NFC, and so are values of an NFC-only format.
    """
    element = elements[element_id]
    if depth > 32:
        return True
    if element.type in ("integer", "decimal", "boolean"):
        return False
    if element.type == "code":
        codelist = codelists.get(element.codelist or "")
        return codelist is None or not all(code.isascii() for code in codelist.all_codes)
    if element.type in ("string", "date", "datetime"):
        if element.format in ASCII_ONLY_FORMATS or element.format in NFC_ONLY_FORMATS:
            return False
        if element.format is None and element.type != "string":
            return False
        constraints = element.constraints
        if constraints.pattern is not None and _pattern_admits_only_ascii(constraints.pattern):
            return False
        enum = constraints.enum
        return not (enum is not None and all(not isinstance(v, str) or v.isascii() for v in enum))
    refs = [ref for _, ref in _element_refs(element)]
    return any(_may_pass_unnormalised(ref, elements, codelists, depth + 1) for ref in refs)
