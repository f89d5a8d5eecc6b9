"""GX without the chatter: no progress bars, only its warnings and errors in a task log.

A checkpoint run logs hundreds of INFO lines (``_get_default_value called with key ...``,
``Substituting '${...}'``) and draws a tqdm progress bar per validation on stderr, which Airflow's
task runner records at ERROR level. Progress bars are switched off in the GX project's own
configuration (``progress_bars`` in ``great_expectations.yml``); the ``great_expectations``
loggers are held at WARNING while GX runs and restored after, so a failing GX still says why.
ShareHub writes its own one-line summary per suite instead (:mod:`quality.gx_suites`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

GX_LOGGER = "great_expectations"


@contextmanager
def quiet_logs(level: int = logging.WARNING) -> Iterator[None]:
    """Hold ``great_expectations`` and any of its loggers that set their own lower level at ``level``."""
    manager = logging.Logger.manager
    names = [GX_LOGGER] + [n for n in manager.loggerDict if n.startswith(GX_LOGGER + ".")]
    loggers = [logging.getLogger(n) for n in names]
    previous = [(lg, lg.level) for lg in loggers if lg is logging.getLogger(GX_LOGGER) or 0 < lg.level < level]
    for lg, _ in previous:
        lg.setLevel(level)
    try:
        yield
    finally:
        for lg, old in previous:
            lg.setLevel(old)


def _setting(config: Any, key: str) -> Any:
    return config.get(key) if isinstance(config, dict) else getattr(config, key, None)


def disable_progress_bars(context: Any) -> None:
    """Switch GX's progress bars off in the project's configuration (saved once; a no-op after)."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    current = context.variables.progress_bars
    if current is not None and all(_setting(current, k) is False for k in ("globally", "metric_calculations")):
        return
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.variables.save()
