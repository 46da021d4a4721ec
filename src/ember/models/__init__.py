"""Models: call LLM providers as XCS ops (see ``ember.api.models`` for the facade).

A call ``models("openai/gpt-4o", prompt)`` resolves the id in the provider registry,
takes that model's cached op (``llm[gpt-4o]``) and calls it: outside a trace it runs
now, synchronously; under ``@jit`` it is lazy and the engine awaits the provider's
async path on its event loop, concurrently with other calls, honouring the
provider's ``max_concurrency``. The provider checks the prompt and parameters, waits
for its rate limits, sends the request with the retry policy (``Retry-After``
honoured), checks the reply, and returns a ``Response`` (a ``str`` with usage).
``models.stream`` / ``models.astream`` return the reply chunk by chunk.

This layer uses only the public names of ``ember.xcs``; its errors are
``ModelError`` classes, rooted at ``ember.errors.EmberError``.
"""

import sys
import types
from typing import Any

from ember.models.api import ModelsAPI, models
from ember.models.binding import ModelBinding
from ember.models.catalog import Models
from ember.models.errors import (
    InvalidParamsError,
    MalformedResponseError,
    MissingAPIKeyError,
    MissingDependencyError,
    ModelError,
    ModelNotFoundError,
    ProviderError,
    ProviderNotFoundError,
    ProviderTimeoutError,
    SimulatedFailure,
)
from ember.models.providers import (
    AnthropicProvider,
    Completion,
    OllamaProvider,
    OpenAIProvider,
    Provider,
    SimulatedProvider,
)
from ember.models.ratelimit import Clock, RateLimit
from ember.models.registry import ProviderRegistry, default_registry
from ember.models.response import ModelInvocation, Response, Usage
from ember.models.retry import RetryPolicy
from ember.models.stream import AsyncModelStream, ModelStream

__all__ = [
    "AnthropicProvider",
    "AsyncModelStream",
    "Clock",
    "Completion",
    "InvalidParamsError",
    "MalformedResponseError",
    "MissingAPIKeyError",
    "MissingDependencyError",
    "ModelBinding",
    "ModelError",
    "ModelInvocation",
    "ModelNotFoundError",
    "ModelStream",
    "Models",
    "ModelsAPI",
    "OllamaProvider",
    "OpenAIProvider",
    "Provider",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderRegistry",
    "ProviderTimeoutError",
    "RateLimit",
    "Response",
    "RetryPolicy",
    "SimulatedFailure",
    "SimulatedProvider",
    "Usage",
    "default_registry",
    "models",
]


class _CallablePackage(types.ModuleType):
    """pyember's README writes ``from ember import models`` and then calls it, which
    gives this package: calling it, or reading a name the package does not define
    (``models.instance``, ``models.stream``), uses the ``models`` facade."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return models(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("__"):
            try:
                return getattr(models, name)
            except AttributeError:
                pass
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")


sys.modules[__name__].__class__ = _CallablePackage
