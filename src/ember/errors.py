"""``EmberError``: the root of every error Ember raises on its own account.

Each layer has its own family below it: ``ember.xcs.errors.XCSError`` for the
execution layer (tracing, engine, configuration, transforms) and
``ember.models.errors.ModelError`` for the models layer (model ids, providers,
parameters). Catch ``EmberError`` to handle anything Ember itself reports while
letting your own exceptions, and the errors of the SDKs Ember calls, pass through.

Errors raised by user code inside an op are never wrapped: they reach the caller with
their own type. Errors of an official provider SDK (``openai.RateLimitError``, ...)
keep their type too.

Example:
    >>> from ember.errors import EmberError
    >>> from ember.models.errors import ModelError
    >>> from ember.xcs.errors import XCSError
    >>> issubclass(ModelError, EmberError), issubclass(XCSError, EmberError)
    (True, True)
    >>> issubclass(ModelError, XCSError)
    False
"""

from __future__ import annotations

__all__ = ["EmberError"]


class EmberError(Exception):
    """Base class of every error that Ember raises on its own account.

    Cause: Ember was asked for something it cannot do; the subclass says which layer
    (``XCSError``: execution, ``ModelError``: models) and the message says what to
    change.
    Fix: read the message: it names the offending value and the change to make.
    """
