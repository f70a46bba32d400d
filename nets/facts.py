"""What ``nets/`` tells a person, as facts: a code and the values a sentence needs, never a sentence.

A zip refused, a file skipped, a warning about the data, why training stopped: ``nets/`` reports
each as a ``Fact`` (or raises a ``Refusal`` carrying one). The UI turns facts into sentences in
the visitor's own language (``ui/text.py``, from ``assets/i18n/facts.json``, keyed by the code),
formatting the values there too (sizes, lists of names). So a Korean visitor never reads an
English sentence built deep inside the logic, and tests can assert facts instead of wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Fact:
    """A code naming what happened (``"zip_too_big"``) and the values that describe it."""

    code: str
    values: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        details = ", ".join(f"{key}={value!r}" for key, value in self.values.items())
        return f"{self.code} ({details})" if details else self.code


def fact(code: str, **values: Any) -> Fact:
    return Fact(code, values)


class Refusal(ValueError):
    """Something a person sent or chose cannot be used; ``fact`` says what and the numbers."""

    def __init__(self, code: str, **values: Any) -> None:
        self.fact = Fact(code, values)
        super().__init__(str(self.fact))

    @property
    def code(self) -> str:
        return self.fact.code

    @property
    def values(self) -> dict[str, Any]:
        return self.fact.values
