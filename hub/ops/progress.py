"""Progress bars for long work, shown only when a person is watching (stderr is a terminal).

In Airflow tasks, tests and pipes nothing is drawn, so logs and ``--json`` output stay clean.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any


def interactive() -> bool:
    """Whether stderr is a terminal."""
    return sys.stderr.isatty()


class Steps:
    """A bar over a known number of named steps: ``steps.advance("migrating")``."""

    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, description: str) -> None:
        """Mark the previous step done and name the next one."""
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=description)


@contextlib.contextmanager
def steps(title: str, total: int) -> Iterator[Steps]:
    """A progress bar of ``total`` steps titled ``title`` (a no-op when not interactive)."""
    if not interactive():
        yield Steps(None, None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        task = progress.add_task(title, total=total)
        yield Steps(progress, task)
        progress.update(task, completed=total, description=f"{title}: done")


@contextlib.contextmanager
def activity(description: str) -> Iterator[None]:
    """A spinner with the elapsed time for work of unknown length (a no-op when not interactive)."""
    if not interactive():
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=Console(stderr=True)
    ) as p:
        p.add_task(description, total=None)
        yield
