"""Optional audit log (RNET_AUDIT_LOG): which model produced which risk, when — never the findings.

One JSON line per prediction shown: time (UTC), channel (api, page or live
update), model id and SHA-256, and the risk.  A
hospital can show which model version produced a number on a given day;
the patient's findings are not in it, so it holds no clinical data.  Lines
are appended with O_APPEND in a single write, so several workers can share
one file.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        # Opened once; O_APPEND makes each os.write land whole at the end, even from several processes.
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def record(self, *, channel: str, model_id: str, sha256: str, risk: float | None = None) -> None:
        entry: dict[str, object] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "channel": channel,
            "model_id": model_id,
            "model_sha256": sha256,
        }
        if risk is not None:
            entry["risk"] = round(risk, 6)
        os.write(self._fd, (json.dumps(entry) + "\n").encode())

    def close(self) -> None:
        os.close(self._fd)
