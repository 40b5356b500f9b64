"""Reading the dictionary's YAML content (docs/contracts.md section 1) into a Dictionary.

A file that cannot be read into the model stops the load, with every such problem listed at
once (file and location). Problems of meaning (dangling references, examples that misbehave,
broken version histories) do not stop it: ``Dictionary.lint()`` reports them.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from dictionary.errors import DictionaryLoadError
from dictionary.model import CodeList, Element, RecordType
from dictionary.procedures import Procedure
from dictionary.registry import Dictionary, LoadNote

NATIONAL_PATH = Path(__file__).resolve().parent / "national"
_FOLDERS = ("elements", "codelists", "records", "procedures")

ModelT = TypeVar("ModelT", bound=BaseModel)


class _ContentLoader(yaml.SafeLoader):
    """YAML without the YAML 1.1 surprises that corrupt data.

    Dates stay strings (records carry ISO strings, and pydantic parses dates where the model
    wants them), and only true/false are booleans: a country code NO or a flag ``on`` stays
    text.
    """


_ContentLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _ContentLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first]
    )


def read_yaml(path: Path) -> Any:
    with path.open("rb") as handle:
        return yaml.load(handle, Loader=_ContentLoader)


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _describe(error: ValidationError, prefix: str) -> list[str]:
    out = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        where = f"{prefix}: {location}" if location else prefix
        out.append(f"{where}: {item['msg']}")
    return out


def _parse(model: type[ModelT], data: Any, where: str, problems: list[str]) -> ModelT | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(exc, where))
        return None


def _read(path: Path, root: Path, problems: list[str]) -> Any:
    try:
        return read_yaml(path)
    except (yaml.YAMLError, OSError) as exc:
        problems.append(f"{path.relative_to(root)}: not readable YAML: {exc}")
        return None


# Parsing the YAML is most of a load (about 0.6 s for the national content), and a process
# may load the same content many times (the test suite builds a hub per test). Content read
# before, byte for byte, is not parsed again: the caller gets a copy sharing its frozen models.
_LOADED_LIMIT = 8
_loaded: OrderedDict[tuple[Path, str], Dictionary] = OrderedDict()
_loaded_lock = threading.Lock()


def load_dictionary(path: Path | None = None) -> Dictionary:
    """Load ``path`` (default: the shipped national content), its procedures included.

    Each call returns a dictionary of its own (publishing into it changes no other).
    """
    root = Path(path) if path is not None else NATIONAL_PATH
    if not root.is_dir():
        raise DictionaryLoadError([f"{root}: no such dictionary folder"])
    key = _content_key(root)
    if key is None:
        return _load(root)
    with _loaded_lock:
        loaded = _loaded.get(key)
        if loaded is not None:
            _loaded.move_to_end(key)
    if loaded is None:
        loaded = _load(root)
        with _loaded_lock:
            _loaded[key] = loaded
            while len(_loaded) > _LOADED_LIMIT:
                _loaded.popitem(last=False)
    return loaded.copy()


def _content_key(root: Path) -> tuple[Path, str] | None:
    """The folder and a digest of every file the loader reads (None if one is unreadable:
    the load reports it)."""
    digest = hashlib.blake2b(digest_size=32)
    try:
        for folder in _FOLDERS:
            for file in _yaml_files(root / folder):
                content = file.read_bytes()
                name = str(file.relative_to(root)).encode()
                digest.update(b"%d:%s%d:" % (len(name), name, len(content)))
                digest.update(content)
    except OSError:
        return None
    return root.resolve(), digest.hexdigest()


def _load(root: Path) -> Dictionary:
    problems: list[str] = []
    notes: list[LoadNote] = []
    elements = _load_elements(root, problems, notes)
    codelists = _load_named(
        root, "codelists", CodeList, lambda c: c.id, "code list", problems, notes
    )
    record_types = _load_named(
        root, "records", RecordType, lambda r: r.name, "record type", problems, notes
    )
    procedures = _load_named(
        root, "procedures", Procedure, lambda p: p.code, "procedure", problems, notes
    )
    if problems:
        raise DictionaryLoadError(problems)
    return Dictionary(
        elements, codelists, record_types, source=root, notes=notes, procedures=procedures
    )


def _load_elements(root: Path, problems: list[str], notes: list[LoadNote]) -> dict[str, Element]:
    elements: dict[str, Element] = {}
    origin: dict[str, str] = {}
    for file in _yaml_files(root / "elements"):
        name = str(file.relative_to(root))
        data = _read(file, root, problems)
        if data is None:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("elements"), list):
            problems.append(f"{name}: expected a mapping with an 'elements' list")
            continue
        unknown = sorted(set(data) - {"namespace", "owner", "elements"})
        if unknown:
            problems.append(f"{name}: unknown keys {unknown}")
        namespace = data.get("namespace") or file.stem
        owner = data.get("owner")
        for index, raw in enumerate(data["elements"]):
            label = raw.get("id", index) if isinstance(raw, dict) else index
            where = f"{name}: elements[{label}]"
            if isinstance(raw, dict) and raw.get("owner") is None and owner is not None:
                raw = {**raw, "owner": owner}
            element = _parse(Element, raw, where, problems)
            if element is None:
                continue
            if element.id in elements:
                problems.append(
                    f"{where}: element {element.id} is also defined in {origin[element.id]}"
                )
                continue
            if element.namespace != namespace:
                notes.append(
                    LoadNote(
                        "namespace_mismatch",
                        name,
                        f"element {element.id} is not in namespace {namespace!r} of its file",
                    )
                )
            elements[element.id] = element
            origin[element.id] = name
    return elements


def _load_named(
    root: Path,
    folder: str,
    model: type[ModelT],
    key: Callable[[ModelT], str],
    what: str,
    problems: list[str],
    notes: list[LoadNote],
) -> dict[str, ModelT]:
    found: dict[str, ModelT] = {}
    origin: dict[str, str] = {}
    for file in _yaml_files(root / folder):
        name = str(file.relative_to(root))
        data = _read(file, root, problems)
        if data is None:
            continue
        item = _parse(model, data, name, problems)
        if item is None:
            continue
        ident = key(item)
        if ident in found:
            problems.append(f"{name}: {what} {ident} is also defined in {origin[ident]}")
            continue
        if ident != file.stem:
            notes.append(
                LoadNote(
                    "file_name_mismatch", name, f"{what} {ident} lives in a file named {file.name}"
                )
            )
        found[ident] = item
        origin[ident] = name
    return found
