"""Shared OpenAPI pieces."""

from __future__ import annotations

from typing import Any


def problem_schema() -> dict[str, Any]:
    """The RFC 9457 problem document every error uses."""
    return {
        "type": "object",
        "title": "Problem",
        "required": ["type", "title", "status", "code", "detail", "request_id"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "code": {"type": "string", "description": "Stable error code to branch on."},
            "detail": {"type": "string"},
            "instance": {"type": ["string", "null"]},
            "request_id": {"type": ["string", "null"]},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    }
