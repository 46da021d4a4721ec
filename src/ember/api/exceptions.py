"""The exception types user code catches, in one namespace (pyember's ``exceptions``).

Every error Ember raises on its own account is an ``EmberError``
(``ember.errors.EmberError``, the root shared by the execution layer's ``XCSError``
and the models layer's ``ModelError``), so ``except exceptions.EmberError`` catches
both families. Errors raised by user code and by providers' SDKs keep their own types.

``ValidationError`` is pydantic's, what input and output specs raise (loaded with
pydantic when first asked for); pyember's other names that Ember has no counterpart
for (``OperatorError``, ``DataError`` ...) raise an ``AttributeError`` saying so and
what to catch instead (an ``ImportError`` saying the same for ``from ... import``, where
Python would drop the message).

Example:
    >>> from ember.api import exceptions, models
    >>> try:
    ...     models("nonexistent/model", "hi")
    ... except exceptions.ModelError as error:
    ...     print(type(error).__name__)
    ProviderNotFoundError
"""

import dis
import importlib
import sys
from types import FrameType
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
        why = f"pyember's {name} is not provided. {_NOT_PROVIDED[name]}."
        if _importing(sys._getframe(1)):
            # `from ember.api.exceptions import OperatorError`: Python would turn an
            # AttributeError into a bare "cannot import name"; this says what to use.
            raise ImportError(f"cannot import name {name!r} from {__name__!r}: {why}",
                              name=__name__, path=__file__)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}: {why}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_IMPORT_FROM = dis.opmap["IMPORT_FROM"]


def _importing(frame: FrameType) -> bool:
    """Whether ``frame`` is running ``from ... import name`` (not ``getattr``,
    ``hasattr`` or an attribute read, which expect an ``AttributeError``)."""
    code = frame.f_code.co_code
    return 0 <= frame.f_lasti < len(code) and code[frame.f_lasti] == _IMPORT_FROM
