"""Optional audit log (RNET_AUDIT_LOG): which model produced which risk, and when.

One JSON line per prediction shown: time (UTC), channel (api, page or live
update), model id and SHA-256, and, with RNET_AUDIT_RISK=displayed (the
default), the risk as the page displays it (`risk_percent`, one decimal, two
below 1 %).  A hospital can show which model version produced a number on a
given day.

The line holds no finding, but it is derived from the findings: with the
public coefficients, a risk to six decimals gave back all three findings for
298 of 300 patients, and even the displayed risk narrows them down, while the
time can be matched with the endoscopy schedule.  So the log must be
protected like clinical data; RNET_AUDIT_RISK=none leaves the risk out.

Lines are appended with O_APPEND in a single write, so several workers can
share one file.  Cross-site requests are refused before they reach the code
that writes here.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from app.web.i18n import format_percent

AuditRisk = Literal["displayed", "none"]


def displayed_percent(probability: float) -> float:
    """The risk in percent exactly as the pages display it (one decimal, two below 1 %)."""
    return float(format_percent(probability).removesuffix(" %"))


class AuditLog:
    def __init__(self, path: Path, *, risk: AuditRisk = "displayed") -> None:
        self.path = path
        self.risk = risk
        # Opened once; O_APPEND makes each os.write land whole at the end, even from several processes.
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def record(self, *, channel: str, model_id: str, sha256: str, risk: float | None = None) -> None:
        entry: dict[str, object] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "channel": channel,
            "model_id": model_id,
            "model_sha256": sha256,
        }
        if risk is not None and self.risk == "displayed":
            entry["risk_percent"] = displayed_percent(risk)
        os.write(self._fd, (json.dumps(entry) + "\n").encode())

    def close(self) -> None:
        os.close(self._fd)
