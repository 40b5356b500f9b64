"""Reading a JSONL export of the access log (``declare-once audit verify --file``) and verifying it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from hashlib import sha256
from typing import IO

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.audit.serialize import FORMAT
from app.audit.verify.model import Anchor, EventItem, PinnedHead, Report, SealItem
from app.audit.verify.verifier import Verifier

_BLOCK = 1 << 22  # read exports 4 MiB at a time, not line by line


class JsonlLog:
    """Reads an export: header, then event lines, each batch followed by its seal line."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.anchor: Anchor | None = None
        self.trailing: list[EventItem] = []
        self.bytes_read = 0

    def _lines(self) -> Iterator[bytes]:
        read = self._handle.read
        rest = b""
        while True:
            block = read(_BLOCK)
            if not block:
                break
            lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
            rest = lines.pop()
            yield from lines
        if rest:
            yield rest

    def hashed_batches(
        self,
    ) -> Iterator[tuple[list[int], list[int | None], list[bytes], SealItem]]:
        """Each batch as (ids, positions, leaf hashes) in file order, and its seal
        (``Verifier.feed_hashed``). Unsealed events end up in ``trailing``."""
        seqs: list[int] = []
        leaves: list[int | None] = []
        hashes: list[bytes] = []
        loads, dumps, sort_keys = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS
        line_no = 0
        for line in self._lines():
            line_no += 1
            self.bytes_read += len(line) + 1
            if not line.strip():
                continue
            obj = loads(line)
            kind = obj.get("type")
            if kind == "event":
                # The leaf bytes are the line without type and leaf_index, canonicalised
                # (canonical_json and leaf_hash, inlined for this loop).
                del obj["type"]
                leaves.append(obj.pop("leaf_index", None))
                hashes.append(sha256(b"\x00" + dumps(obj, option=sort_keys)).digest())
                seqs.append(int(obj["seq"]))
            elif kind == "seal":
                yield seqs, leaves, hashes, SealItem.from_mapping(obj)
                seqs, leaves, hashes = [], [], []
            elif kind == "header":
                if obj.get("format") != FORMAT:
                    raise ValueError(f"line {line_no}: unknown format {obj.get('format')!r}")
                if obj.get("anchor"):
                    self.anchor = Anchor.from_record(obj["anchor"])
            else:
                raise ValueError(f"line {line_no}: unknown line type {kind!r}")
        self.trailing = [
            EventItem(s, i, b"", h) for s, i, h in zip(seqs, leaves, hashes, strict=True)
        ]


def verify_jsonl(
    handle: IO[bytes],
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    pinned: PinnedHead | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    log = JsonlLog(handle)
    verifier: Verifier | None = None
    for seqs, leaf_indexes, hashes, seal in log.hashed_batches():
        if verifier is None:
            verifier = Verifier(public_keys, anchor=log.anchor, pinned=pinned)
        verifier.feed_hashed(seqs, leaf_indexes, hashes, seal)
        if progress is not None:
            progress(log.bytes_read)
    if verifier is None:
        verifier = Verifier(public_keys, anchor=log.anchor, pinned=pinned)
    return verifier.finish(log.trailing)
