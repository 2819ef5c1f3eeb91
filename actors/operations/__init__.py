"""The operations a site actor runs as jobs, one module per group; importing the package
registers every kind in `OPERATIONS`."""

from actors.operations import automation, images, linker, optimizer, planner, publish, sync, writer
from actors.operations.base import Operation, OperationContext, Plan

OPERATIONS = Operation.operations

__all__ = [
    "OPERATIONS",
    "Operation",
    "OperationContext",
    "Plan",
    "automation",
    "images",
    "linker",
    "optimizer",
    "planner",
    "publish",
    "sync",
    "writer",
]
