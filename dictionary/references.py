"""The references of a record version: dangling ones, element problems, code lists used.

Shared by compilation (``dictionary.compile``), the registry, procedures and the linter.
"""

from __future__ import annotations

from collections.abc import Mapping

from dictionary.formats import KNOWN_FORMATS
from dictionary.model import CodeList, Element, ObjectSpec, RecordVersion

Problem = tuple[str, str]  # (stable code, message)


def reference_problems(
    version: RecordVersion, elements: Mapping[str, Element], codelists: Mapping[str, CodeList]
) -> list[Problem]:
    """Every dangling reference of a version: field -> element, element -> code list or items,
    rule -> field. Elements are followed through objects and lists."""
    problems: list[Problem] = []
    seen: set[str] = set()

    def visit(element_id: str, where: str, stack: tuple[str, ...]) -> None:
        element = elements.get(element_id)
        if element is None:
            problems.append(
                ("dangling_reference", f"{where} refers to unknown element {element_id!r}")
            )
            return
        if element_id in stack:
            cycle = " -> ".join((*stack, element_id))
            problems.append(("element_cycle", f"element {element_id} contains itself: {cycle}"))
            return
        if element_id in seen:
            return
        seen.add(element_id)
        problems.extend(p for p in element_problems(element, codelists) if p not in problems)
        for ref_where, ref in _element_refs(element):
            visit(ref, f"element {element_id} {ref_where}", (*stack, element_id))

    for spec in version.fields:
        visit(spec.element, f"field {spec.name}", ())
    names = {f.name for f in version.fields}
    for rule in version.rules:
        for name in rule.fields:
            if name not in names:
                problems.append(
                    ("dangling_reference", f"rule {rule.id} refers to unknown field {name!r}")
                )
    return list(dict.fromkeys(problems))


def _element_refs(element: Element) -> list[tuple[str, str]]:
    refs: list[tuple[str, str]] = []
    if isinstance(element.items, str):
        refs.append(("items", element.items))
    elif isinstance(element.items, ObjectSpec):
        refs += [(f"items.{n}", p.element) for n, p in element.items.properties.items()]
    for name, prop in (element.properties or {}).items():
        refs.append((f"property {name}", prop.element))
    return refs


def element_problems(element: Element, codelists: Mapping[str, CodeList]) -> list[Problem]:
    """What is wrong with one element on its own: its code list, format and structure."""
    problems: list[Problem] = []
    where = f"element {element.id}"
    if element.type == "code":
        if element.codelist is None:
            problems.append(("missing_codelist", f"{where} is of type code but names no codelist"))
        elif element.codelist not in codelists:
            problems.append(
                ("dangling_reference", f"{where} refers to unknown codelist {element.codelist!r}")
            )
    elif element.codelist is not None:
        problems.append(
            (
                "unexpected_codelist",
                f"{where} names codelist {element.codelist!r} but is not of type code",
            )
        )
    if element.type == "list" and element.items is None:
        problems.append(("missing_items", f"{where} is of type list but has no items"))
    if element.type != "list" and element.items is not None:
        problems.append(("unexpected_items", f"{where} has items but is not of type list"))
    if element.type == "object" and not element.properties:
        problems.append(("missing_properties", f"{where} is of type object but has no properties"))
    if element.type != "object" and element.properties:
        problems.append(
            ("unexpected_properties", f"{where} has properties but is not of type object")
        )
    if element.format is not None and element.format not in KNOWN_FORMATS:
        problems.append(("unknown_format", f"{where} uses unknown format {element.format!r}"))
    return problems


def used_codelists(version: RecordVersion, elements: Mapping[str, Element]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    seen: set[str] = set()

    def visit(element_id: str) -> None:
        element = elements.get(element_id)
        if element is None or element_id in seen:
            return
        seen.add(element_id)
        if element.type == "code" and element.codelist:
            found[element.codelist] = None
        for _, ref in _element_refs(element):
            visit(ref)

    for spec in version.fields:
        visit(spec.element)
    return tuple(found)
