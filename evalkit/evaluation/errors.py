"""The evaluation package's refusal, shared by its modules (the workflow re-exports it)."""
from __future__ import annotations

__all__ = ["WorkflowError"]


class WorkflowError(ValueError):
    """A step that the process does not allow, with the reason in one line."""
