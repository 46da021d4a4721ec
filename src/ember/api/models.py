"""Models API: ``models(model_id, prompt, **params)`` and friends.

``EmberModel`` (pyember's base for input and output models, a pydantic model) is
loaded with pydantic when first asked for. ``ProviderAPIError`` is pyember's name for
``ProviderError`` (its ``ember.api.models`` exported it beside ``ModelError`` and
``ModelNotFoundError``).

Example:
    >>> from ember.api.models import models
    >>> models("simulated/demo", "Hello").startswith("[simulated]")
    True
"""

from typing import Any

from ember.models import (
    AnthropicProvider,
    AsyncModelStream,
    InvalidParamsError,
    MalformedResponseError,
    MissingAPIKeyError,
    MissingDependencyError,
    ModelBinding,
    ModelError,
    ModelInvocation,
    ModelNotFoundError,
    Models,
    ModelStream,
    OllamaProvider,
    OpenAIProvider,
    Provider,
    ProviderError,
    ProviderNotFoundError,
    ProviderTimeoutError,
    RateLimit,
    Response,
    RetryPolicy,
    SimulatedFailure,
    SimulatedProvider,
    Usage,
    models,
)

ProviderAPIError = ProviderError  # pyember's name; outside __all__, which re-exports ember.models

__all__ = [
    "AnthropicProvider",
    "AsyncModelStream",
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
    "OllamaProvider",
    "OpenAIProvider",
    "Provider",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderTimeoutError",
    "RateLimit",
    "Response",
    "RetryPolicy",
    "SimulatedFailure",
    "SimulatedProvider",
    "Usage",
    "models",
]


def __getattr__(name: str) -> Any:
    if name == "EmberModel":
        from ember.operators.ember_model import EmberModel

        return EmberModel
    raise AttributeError(f"module 'ember.api.models' has no attribute {name!r}")
