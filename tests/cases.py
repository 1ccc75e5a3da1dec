"""Load a real-world case from the shared cases file (``PLEIN_CASES`` overrides the path)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["load_case"]


def load_case(case_id: str) -> dict[str, Any]:
    """Return the case with this id from cases.jsonl."""
    default = Path(__file__).resolve().parents[2] / "shared" / "cases" / "cases.jsonl"
    path = Path(os.environ.get("PLEIN_CASES", default))
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            case: dict[str, Any] = json.loads(line)
            if case.get("id") == case_id:
                return case
    raise KeyError(case_id)
