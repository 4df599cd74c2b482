"""An Optuna journal file that several processes on one machine append to.

One JSON object per line, appended under an exclusive ``fcntl`` lock on the file itself and
flushed to the operating system at once, so a process killed at any point loses nothing
it wrote, and readers see whole lines only (a torn last line is left for the next read).
Unlike Optuna's own file backend it does not ``fsync`` every line: a trial writes some
twenty lines (parameters, attributes, constraints, state), and a disk flush for each made
the disk, not the search, the bottleneck. A crash of the machine itself can lose the last
lines; the trials before them stay readable.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from optuna.storages.journal import BaseJournalBackend


class JournalFile(BaseJournalBackend):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.touch(exist_ok=True)
        self._read = 0  # log lines consumed so far ...
        self._offset = 0  # ... and the byte offset where the next one starts

    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        if log_number_from != self._read:  # a reader starting over: from the top
            self._read, self._offset = 0, 0
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        logs = []
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            if self._read >= log_number_from:
                logs.append(json.loads(line))
            self._read += 1
        self._offset += end
        return logs

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs)
        with open(self.path, "ab") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                f.write(text.encode())
                f.flush()
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


__all__ = ["JournalFile"]
