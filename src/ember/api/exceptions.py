"""The exception types user code catches, in one namespace (pyember's ``exceptions``).

Every error Ember raises on its own account is an ``EmberError``
(``ember.errors.EmberError``, the root shared by the execution layer's ``XCSError``
and the models layer's ``ModelError``), so ``except exceptions.EmberError`` catches
both families. Errors raised by user code and by providers' SDKs keep their own types.

Example:
    >>> from ember.api import exceptions, models
    >>> try:
    ...     models("nonexistent/model", "hi")
    ... except exceptions.ModelError as error:
    ...     print(type(error).__name__)
    ProviderNotFoundError
"""

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
