"""Run folders: created once under ``out_dir/<name>-<timestamp>`` and never overwritten; CSV
and JSON written atomically (round-trip float precision; non-finite floats as null)."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ador.errors import AdorError
from ador.spec.io import write_text_atomic

__all__ = ["create_run_folder", "read_csv", "timestamp", "write_csv", "write_json"]


def timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")


def create_run_folder(out_dir: Path, name: str, *, now: datetime | None = None) -> Path:
    """Make ``out_dir/<name>-<timestamp>``; an existing folder is an error, never reused."""
    folder = Path(out_dir) / f"{name}-{timestamp(now)}"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(exist_ok=False)
    except FileExistsError:
        raise AdorError("run folder already exists (results are never overwritten); pass "
                        "another --name or wait a second", field="name",
                        value=str(folder)) from None
    except OSError as err:
        raise AdorError(f"cannot create the run folder: {err.strerror}", file=str(folder),
                        value=None) from None
    return folder


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """CSV with round-trip float precision, written atomically."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format=None)
    write_text_atomic(path, buf.getvalue())


def write_json(path: Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(_plain(obj), indent=2) + "\n")


def _plain(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_plain(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, Path):
        return str(o)
    return o


def read_summary(root: Path, name: str) -> Any:
    """The JSON file ``name`` of the run folder ``root`` (one-line AdorError when the
    folder is missing or the file unreadable)."""
    if not root.is_dir():
        raise AdorError("run folder does not exist", file=str(root))
    try:
        return json.loads((root / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise AdorError(f"cannot read the run summary: {err}".splitlines()[0],
                        file=str(root / name)) from None


def read_csv(path: Path, *, missing: str | None = None) -> pd.DataFrame:
    """A run folder's CSV (an empty frame when it has no rows). An absent file is an empty
    frame too, or, with ``missing`` (the rule it breaks), an error naming the folder."""
    if not path.exists():
        if missing is not None:
            raise AdorError(missing, file=str(path.parent))
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise AdorError(f"cannot read CSV: {err}".splitlines()[0], file=str(path)) from None
