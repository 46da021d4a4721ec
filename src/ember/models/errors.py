"""Errors raised by the models layer.

Each class says what went wrong and what to do next. Errors reported by a provider's
own SDK (``openai.RateLimitError``, ``anthropic.InternalServerError``, ...) are never
wrapped: after the retry policy gives up they reach the caller with their own type.
"""

from __future__ import annotations

from ember.xcs.errors import XCSError

__all__ = [
    "InvalidParamsError",
    "MissingAPIKeyError",
    "MissingDependencyError",
    "ModelError",
    "ModelNotFoundError",
    "ProviderError",
    "ProviderNotFoundError",
    "SimulatedFailure",
]


class ModelError(XCSError):
    """Base class of every error the models layer raises on its own account."""


class ModelNotFoundError(ModelError, LookupError):
    """A model id does not resolve to any provider.

    Fix: write ``provider/model`` (e.g. ``openai/gpt-4o``) or use a bare name with a
    known prefix; the message lists the providers and the models they know.
    """


class ProviderNotFoundError(ModelError, LookupError):
    """A ``provider/model`` id names a provider that is not registered.

    Fix: use one of the providers the message lists, or register yours with
    ``models.register_provider(name, provider)``.
    """


class MissingAPIKeyError(ModelError):
    """A provider needs an API key and none was given.

    Fix: set the environment variable the message names, or pass ``api_key=...`` to
    the provider.
    """


class MissingDependencyError(ModelError, ImportError):
    """A provider's SDK is not installed.

    Fix: install the extra the message names, e.g. ``pip install 'ember-xcs[openai]'``.
    """


class InvalidParamsError(ModelError, ValueError):
    """A model call got a parameter the provider does not accept, or a bad value.

    Fix: the message names the parameter, the value and what is accepted.
    """


class ProviderError(ModelError):
    """A provider failed in a way its SDK does not report with its own exception type."""


class SimulatedFailure(ProviderError):
    """The simulated provider failed on purpose (``failure_rate``).

    The failure is deterministic per (model, prompt, params), so retrying cannot help
    and the retry policy does not retry it.
    """
