"""The progress bar on a terminal: checks done out of checks planned, with the cache hits so far."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from memo_engine import Progress, ProgressCallback


@contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A callback that moves a rich progress bar on stderr; None when not on a terminal."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("validating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("checks, {task.fields[hits]} from the cache"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task("validating", total=None, hits=0)

        def show(progress: Progress) -> None:
            bar.update(task, completed=progress.checks_done, total=progress.checks_total, hits=progress.hits)

        yield show
