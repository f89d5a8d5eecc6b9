"""Provision the 医保 file-drop simulator: an inbox directory and its Airflow connection.

``provision`` writes the initial full file under ``home`` and returns the ``AIRFLOW_CONN_*``
value pointing the hub at it; ``deliver_day`` drops one day of changes (with the dirt of that
day) into an inbox, as the department's transfer job does.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from simulators.city import CityPlan
from simulators.yb.enrolments import Dirt, day_changes, encode_csv, file_name, full_state, write_file

CONN_ID = "yb_medical_insurance"


def inbox_of(home: Path) -> Path:
    """The simulated SFTP inbox under a ShareHub home."""
    return Path(home) / "sim" / "yb" / "inbox"


def connection_json(inbox: Path) -> str:
    """The ``AIRFLOW_CONN_YB_MEDICAL_INSURANCE`` value for an inbox directory (``fs`` connection)."""
    return json.dumps({"conn_type": "fs", "extra": {"path": str(Path(inbox).resolve())}})


def scheduled_dirt(day: int) -> Dirt:
    """The dirt the department sends "now and then", fixed per day so runs are reproducible.

    Every kind departments.md lists turns up on some day: a BOM, a blank last line, quoted
    separators, a drift column and (from day 5 on, weekly) a truncated last line. Bytes that are
    not data (NUL, a byte invalid in GBK, a wrong field count) are switched on explicitly.
    """
    return Dirt(
        bom=day % 5 == 3,
        blank_last_line=day % 3 == 1,
        truncated_last_line=day % 7 == 5,
        quoted_separators=True,
        drift_column=day >= 4,
    )


def provision(plan: CityPlan, admin_uri: str, home: Path) -> dict[str, str]:
    """Create a fresh inbox under ``home`` with the full file (day 0) and return the connection env.

    Args:
        plan: The city (scale and seed).
        admin_uri: The embedded server's admin URI (unused: a file drop needs no database; kept
            so every simulator is provisioned the same way).
        home: The ShareHub home the simulators live under.

    Returns:
        ``{"AIRFLOW_CONN_YB_MEDICAL_INSURANCE": ...}``.
    """
    del admin_uri
    inbox = inbox_of(home)
    shutil.rmtree(inbox, ignore_errors=True)  # the simulator's own directory: a fresh department drop
    inbox.mkdir(parents=True, exist_ok=True)
    write_file(inbox, file_name(0), encode_csv(full_state(plan), Dirt(), seed=plan.seed))
    return {f"AIRFLOW_CONN_{CONN_ID.upper()}": connection_json(inbox)}


def deliver_day(
    inbox: Path,
    day: int,
    plan: CityPlan,
    *,
    dirt: Dirt | None = None,
    redeliver_previous: bool = False,
    next_pending: bool = False,
) -> dict[str, object]:
    """Drop day ``day``'s change file into ``inbox``.

    Args:
        inbox: The inbox directory.
        day: Day number (1, 2, ...); the file is dated BASE_DAY + day.
        plan: The city.
        dirt: Dirt of this file (default :func:`scheduled_dirt`).
        redeliver_previous: Deliver the previous day's file a second time too (same name and
            bytes, fresh ``.ok``), as a retried transfer does.
        next_pending: Leave the next day's file half-written with no ``.ok`` yet.

    Returns:
        What was delivered: file names, ``rows`` (the records the hub will count: the data rows
        plus a blank last line), ``data_rows`` and the dirt.
    """
    inbox = Path(inbox)
    dirt = dirt or scheduled_dirt(day)
    changes = day_changes(plan, day)
    name = file_name(day)
    write_file(inbox, name, encode_csv(changes, dirt, seed=plan.seed * 1000 + day))
    # a blank last line is one more record for the hub's ledger (quarantined as file.blank_line)
    records = changes.num_rows + (1 if dirt.blank_last_line else 0)
    delivered: dict[str, object] = {"file": name, "rows": records, "data_rows": changes.num_rows, "dirt": dirt}
    if redeliver_previous and day >= 1:
        previous = inbox / file_name(day - 1)
        write_file(inbox, previous.name, previous.read_bytes())
        delivered["redelivered"] = previous.name
    if next_pending:
        pending = file_name(day + 1)
        write_file(inbox, pending, encode_csv(day_changes(plan, day + 1), Dirt()), complete=False)
        delivered["pending"] = pending
    return delivered
