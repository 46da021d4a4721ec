"""Models API: ``models(model_id, prompt, **params)`` and friends.

Example:
    >>> from ember.api.models import models
    >>> models("simulated/demo", "Hello").startswith("[simulated]")
    True
"""

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
