"""Models API: ``models(model_id, prompt, **params)`` and friends.

Example:
    >>> from ember.api.models import models
    >>> models("simulated/demo", "Hello").startswith("[simulated]")
    True
"""

from ember.models import (
    AnthropicProvider,
    InvalidParamsError,
    MissingAPIKeyError,
    MissingDependencyError,
    ModelBinding,
    ModelError,
    ModelNotFoundError,
    OpenAIProvider,
    Provider,
    ProviderError,
    ProviderNotFoundError,
    Response,
    RetryPolicy,
    SimulatedFailure,
    SimulatedProvider,
    Usage,
    models,
)

__all__ = [
    "AnthropicProvider",
    "InvalidParamsError",
    "MissingAPIKeyError",
    "MissingDependencyError",
    "ModelBinding",
    "ModelError",
    "ModelNotFoundError",
    "OpenAIProvider",
    "Provider",
    "ProviderError",
    "ProviderNotFoundError",
    "Response",
    "RetryPolicy",
    "SimulatedFailure",
    "SimulatedProvider",
    "Usage",
    "models",
]
