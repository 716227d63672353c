"""Kept so that imports of 0.2 work: the blueprint lives in :mod:`.blueprint`."""

from .blueprint import RunnableFactory, create_blueprint

__all__ = ["RunnableFactory", "create_blueprint"]
