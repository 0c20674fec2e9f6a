"""Steps of the demo, printed as they run: ``[ok]`` or ``[FAIL]``, then a short result."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Report", "StepFailed", "expect"]


class StepFailed(AssertionError):
    """A step got something other than what the demo expects."""


def expect(condition: bool, message: str) -> None:
    """Fail the current step with ``message`` unless ``condition`` holds."""
    if not condition:
        raise StepFailed(message)


class Report:
    """Runs steps, prints one small block per step and remembers the failures."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.passed = 0
        self.failures: list[str] = []

    def _print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def section(self, title: str) -> None:
        """A heading for the steps that follow."""
        self._print()
        self._print(title)
        self._print("-" * len(title))

    def note(self, text: str) -> None:
        """A line of explanation."""
        self._print(f"  {text}")

    def step(self, label: str, action: Callable[[], str]) -> bool:
        """Run ``action``; it returns a short (possibly multi-line) summary or raises."""
        began = time.perf_counter()
        try:
            summary = action()
        except Exception as error:  # a demo reports every failure and carries on
            self.failures.append(label)
            self._print(f"  [FAIL] {label}")
            self._print(f"         {type(error).__name__}: {error}")
            return False
        took = (time.perf_counter() - began) * 1000
        self.passed += 1
        self._print(f"  [ok] {label}  ({took:.0f} ms)")
        for line in summary.splitlines():
            self._print(f"       {line}")
        return True

    @property
    def ok(self) -> bool:
        """True when no step failed."""
        return not self.failures
