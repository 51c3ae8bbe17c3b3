"""Recording calls to the pipeline's functions in a test, the calls still happening."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def record_calls(
    monkeypatch: pytest.MonkeyPatch,
    owner: object,
    name: str,
    note: Callable[[Any], Any] = lambda result: result,
) -> list:
    """Wrap `owner.name` so that each call still happens and `note(result)` is appended to
    the list returned."""
    calls: list = []
    real = getattr(owner, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        calls.append(note(result))
        return result

    monkeypatch.setattr(owner, name, recording)
    return calls
