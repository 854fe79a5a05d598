"""What a study process tells its user while it runs: failures and waits as one line each on
stderr, and an optional tqdm bar of the stored results with the best value so far."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any


class Console:
    """The lines and progress bar of one ``Study.optimize`` call.

    Lines go through the bar when there is one (``tqdm.write``), so that they do not break it.
    """

    def __init__(self) -> None:
        self._bar: Any = None

    def open_bar(self, total: int, initial: int) -> None:
        """Show a tqdm bar of ``total`` results, ``initial`` of them already stored."""
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, initial=initial)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def say(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def waiting(self, holder: str | None, study_name: str) -> None:
        """Say that ``holder`` proposes for the study and this process evaluates meanwhile."""
        self.say(
            f"metarl: {holder} proposes for study {study_name!r}; "
            "this process evaluates its trials until the lease frees"
        )

    def failed(self, number: int, error: str | None) -> None:
        """Say that trial ``number`` failed, with the first line of its reason."""
        lines = (error or "").strip().splitlines() or ["(no reason)"]
        self.say(f"metarl: trial {number} failed: {lines[0]}")

    def stored(self, postfix: Callable[[], str]) -> None:
        """Count one stored result on the bar; ``postfix()`` (e.g. the best value) raises
        ``ValueError`` while there is nothing to show."""
        if self._bar is None:
            return
        self._bar.update(1)
        with contextlib.suppress(ValueError):  # no completed trial yet
            self._bar.set_postfix_str(postfix())


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines (``A new study created in ...``) off for the block; the caller's
    verbosity is back after it (a quieter one is kept)."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(before, optuna.logging.WARNING))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)
