"""Models: call LLM providers as XCS ops (see ``ember.api.models`` for the facade).

A call ``models("openai/gpt-4o", prompt)`` resolves the id in the provider registry,
takes that model's cached op (``llm[gpt-4o]``) and calls it: outside a trace it runs
now; under ``@jit`` it is lazy and the engine runs it concurrently, honouring the
provider's ``max_concurrency``. The provider checks the prompt and parameters, sends
the request with the retry policy, and returns a ``Response`` (a ``str`` with usage).
"""

from ember.models.api import ModelsAPI, models
from ember.models.binding import ModelBinding
from ember.models.errors import (
    InvalidParamsError,
    MissingAPIKeyError,
    MissingDependencyError,
    ModelError,
    ModelNotFoundError,
    ProviderError,
    ProviderNotFoundError,
    SimulatedFailure,
)
from ember.models.providers import (
    AnthropicProvider,
    Completion,
    OpenAIProvider,
    Provider,
    SimulatedProvider,
)
from ember.models.registry import ProviderRegistry, default_registry
from ember.models.response import Response, Usage
from ember.models.retry import RetryPolicy

__all__ = [
    "AnthropicProvider",
    "Completion",
    "InvalidParamsError",
    "MissingAPIKeyError",
    "MissingDependencyError",
    "ModelBinding",
    "ModelError",
    "ModelNotFoundError",
    "ModelsAPI",
    "OpenAIProvider",
    "Provider",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderRegistry",
    "Response",
    "RetryPolicy",
    "SimulatedFailure",
    "SimulatedProvider",
    "Usage",
    "default_registry",
    "models",
]
