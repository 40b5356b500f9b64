"""One error catalogue: every stable code is a ``HubError`` subclass in its domain's
``errors.py``, raised by class (never as an inline ``code="..."``), and listed with its
status in docs/contracts.md, section 12. A client branches on these codes; the list a
newcomer reads and the codes the hub answers must not drift apart."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import app
from app.errors import HubError

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "docs" / "contracts.md"
# Where a code may be declared: a domain's errors.py, the shared app/errors.py, and the two
# header errors beside the header rule they enforce.
HOMES = re.compile(r"^app(\.[a-z_]+)?\.errors$|^app\.headers$")


def _import_all() -> None:
    for info in pkgutil.walk_packages(app.__path__, "app."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)


def _subclasses(cls: type[HubError]) -> Iterator[type[HubError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def declared() -> dict[str, list[type[HubError]]]:
    """Every code with the classes that declare it (a class that sets ``code`` itself)."""
    _import_all()
    codes: dict[str, list[type[HubError]]] = {"bad_request": [HubError]}
    for cls in _subclasses(HubError):
        if "code" in vars(cls):
            codes.setdefault(cls.code, []).append(cls)
    return codes


def documented() -> dict[str, int]:
    """``code -> status`` from the tables of docs/contracts.md, section 12."""
    text = CONTRACTS.read_text(encoding="utf-8")
    section = text.split("## 12. Error codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| (\d{3}) \|", section, flags=re.MULTILINE)
    return {code: int(status) for code, status in rows}


def test_every_code_is_declared_in_an_errors_module() -> None:
    misplaced = sorted(
        f"{cls.__module__}.{cls.__name__} ({code})"
        for code, classes in declared().items()
        for cls in classes
        if not HOMES.match(cls.__module__)
    )
    assert not misplaced, f"declare these in the domain's errors.py: {misplaced}"


def test_one_status_per_code() -> None:
    mixed = {
        code: sorted({cls.status for cls in classes})
        for code, classes in declared().items()
        if len({cls.status for cls in classes}) > 1
    }
    assert not mixed


def test_the_contract_lists_every_code_with_its_status() -> None:
    in_code = {code: classes[0].status for code, classes in declared().items()}
    in_docs = documented()
    assert sorted(set(in_code) - set(in_docs)) == [], "codes missing from docs/contracts.md"
    assert sorted(set(in_docs) - set(in_code)) == [], "documented codes the hub never answers"
    wrong = {c: (in_code[c], in_docs[c]) for c in in_code if in_code[c] != in_docs[c]}
    assert not wrong, f"code: (status in code, status documented) {wrong}"


def _error_names() -> set[str]:
    return {cls.__name__ for classes in declared().values() for cls in classes}


def test_no_code_is_written_inline_where_an_error_is_raised() -> None:
    names = _error_names()
    inline = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name not in names:
                continue
            for keyword in node.keywords:
                if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                    inline.append(f"{path.relative_to(ROOT)}:{node.lineno} {keyword.value.value}")
    assert not inline, f"raise a class of the domain's errors.py instead: {inline}"
