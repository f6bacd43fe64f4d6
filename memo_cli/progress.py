"""The progress bar on a terminal: files finished out of files to check.

One unit, files, as in the summary line: the count is of files every check has
finished. The bar and its percentage fill by checks done, so they move whenever any
validator finishes a batch, not only when the slowest one does: on a cold run the
count moves a batch at a time (a tool reports a batch of files at once), the bar in
between.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from memo.engine import Progress, ProgressCallback


@contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A callback that moves a rich progress bar on stderr; None when not on a terminal."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("validating"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[files_done]}/{task.fields[files_total]} files"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task("validating", total=None, files_done=0, files_total=0)

        def show(progress: Progress) -> None:
            bar.update(
                task,
                completed=progress.checks_done,
                total=progress.checks_total,
                files_done=progress.files_done,
                files_total=progress.files_total,
            )

        yield show
