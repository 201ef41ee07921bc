"""Start the service's parts as real local processes, for `make run` and the tests."""

from stack.group import Stack
from stack.process import StartError
from stack.specs import ORDER

__all__ = ["ORDER", "Stack", "StartError"]
