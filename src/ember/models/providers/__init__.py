"""Model providers: the ``Provider`` base class and the built-in providers.

``openai`` and ``anthropic`` talk to the official SDKs (imported only when first
used); ``ollama`` is the ``openai`` provider pointed at a local Ollama server;
``simulated`` needs no network and is the default for demos, examples, tests
and benchmarks.
"""

from ember.models.providers.anthropic import AnthropicProvider
from ember.models.providers.base import Completion, Provider
from ember.models.providers.ollama import OllamaProvider
from ember.models.providers.openai import OpenAIProvider
from ember.models.providers.simulated import SimulatedProvider

__all__ = [
    "AnthropicProvider",
    "Completion",
    "OllamaProvider",
    "OpenAIProvider",
    "Provider",
    "SimulatedProvider",
]
