"""The exception types user code catches, in one namespace (pyember's ``exceptions``).

Every error Ember raises on its own account is an ``EmberError``
(``ember.errors.EmberError``, the root shared by the execution layer's ``XCSError``
and the models layer's ``ModelError``), so ``except exceptions.EmberError`` catches
both families. Errors raised by user code and by providers' SDKs keep their own types.

``ValidationError`` is pydantic's, what input and output specs raise (loaded with
pydantic when first asked for); pyember's other names that Ember has no counterpart
for (``OperatorError``, ``DataError`` ...) raise an ``AttributeError`` saying so and
what to catch instead.

Example:
    >>> from ember.api import exceptions, models
    >>> try:
    ...     models("nonexistent/model", "hi")
    ... except exceptions.ModelError as error:
    ...     print(type(error).__name__)
    ProviderNotFoundError
"""

import importlib
from typing import Any

from ember.errors import EmberError
from ember.models.errors import (
    InvalidParamsError,
    MissingAPIKeyError,
    MissingDependencyError,
    ModelError,
    ModelNotFoundError,
    ProviderError,
    ProviderNotFoundError,
)
from ember.operators.base import FrozenOperatorError
from ember.operators.blocks import UnparseableReplyError
from ember.xcs.errors import (
    ConfigError,
    GraphError,
    SerializationError,
    TracingError,
    TransformError,
    XCSError,
    XCSTimeoutError,
)

ProviderAPIError = ProviderError

__all__ = [
    "ConfigError",
    "EmberError",
    "FrozenOperatorError",
    "GraphError",
    "InvalidParamsError",
    "MissingAPIKeyError",
    "MissingDependencyError",
    "ModelError",
    "ModelNotFoundError",
    "ProviderAPIError",
    "ProviderError",
    "ProviderNotFoundError",
    "SerializationError",
    "TracingError",
    "TransformError",
    "UnparseableReplyError",
    "XCSError",
    "XCSTimeoutError",
]

# pyember's exception names without a counterpart here, and what to catch instead.
_NOT_PROVIDED = dict.fromkeys(
    ("EmberException", "ErrorGroup", "InitializationError", "InvalidArgumentError",
     "ValidationException", "ModelException", "OperatorError", "OperatorException",
     "OperatorExecutionError", "SpecificationValidationError", "InvalidPromptError",
     "ProviderConfigError", "ConfigValidationError", "MissingConfigError", "DataError",
     "DataValidationError", "DataLoadError", "DatasetNotFoundError"),
    "Ember raises no such type: errors of your own code (an operator's forward, a "
    "prompt template) keep their own types (ValueError, TypeError ...), spec validation "
    "raises ValidationError (pydantic's), and Ember's own errors are EmberError")


def __getattr__(name: str) -> Any:
    if name == "ValidationError":  # pydantic's: what input and output specs raise
        return importlib.import_module("pydantic").ValidationError
    if name in _NOT_PROVIDED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}: pyember's "
                             f"{name} is not provided. {_NOT_PROVIDED[name]}.")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
