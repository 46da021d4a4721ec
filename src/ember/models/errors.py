"""Errors raised by the models layer.

Every class says what went wrong and what to do next, and every one is a
``ModelError``, itself an ``ember.errors.EmberError`` (the models layer does not
depend on ``ember.xcs``). Errors reported by a provider's own SDK
(``openai.RateLimitError``, ``anthropic.InternalServerError``, ...) are never wrapped:
after the retry policy gives up they reach the caller with their own type.

Messages quote at most a few hundred characters of user data (prompts, parameter
values, reply bodies), cut with a marker saying how much was left out.
"""

from __future__ import annotations

from ember.errors import EmberError

__all__ = [
    "InvalidParamsError",
    "MalformedResponseError",
    "MissingAPIKeyError",
    "MissingDependencyError",
    "ModelError",
    "ModelNotFoundError",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderTimeoutError",
    "SimulatedFailure",
]


class ModelError(EmberError):
    """Base class of every error the models layer raises on its own account."""


class ModelNotFoundError(ModelError, LookupError):
    """A model id does not resolve to any provider.

    Fix: write ``provider/model`` (e.g. ``openai/gpt-4o``) or use a bare name with a
    known prefix; the message lists the providers and the models they know.
    """


class ProviderNotFoundError(ModelNotFoundError):
    """A ``provider/model`` id names a provider that is not registered.

    A ``ModelNotFoundError`` too (the id does not resolve), as pyember raised for an
    unknown provider, so ``except ModelNotFoundError:`` fallbacks catch it.

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
    """A model call or a provider setting got a value it does not accept.

    Raised for unknown call parameters (with a "did you mean"), out-of-range values,
    malformed prompts, and bad provider settings (``OpenAIProvider(timeout=-5)``).
    Fix: the message names the parameter or setting, the value and what is accepted.
    """


class ProviderError(ModelError):
    """A provider failed in a way its SDK does not report with its own exception type.

    The message starts with the ``provider/model`` id that was called. Code that
    raises it inside a provider may leave the id out (``model_id=None``): the
    provider's call pipeline fills it in before the error leaves ``complete``.

    Args:
        detail: what went wrong, without the model id.
        model_id: the ``provider/model`` id, when the raiser knows it.

    Attributes:
        detail: the message without the model id.
        model_id: the id of the model that was called.
    """

    def __init__(self, detail: str, *, model_id: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.model_id = model_id

    def __str__(self) -> str:
        return f"{self.model_id}: {self.detail}" if self.model_id else self.detail


class MalformedResponseError(ProviderError):
    """The server answered with success, but the reply is not a usable completion.

    Raised when an HTTP 200 body is not valid JSON (or not UTF-8 text), or lacks what a
    completion needs (OpenAI ``choices`` / ``message.content``, Anthropic ``content``).
    The message names the model, what was missing and the start of the body.

    Not retried: the server accepted and processed the request (a paid call), and a
    server that sends malformed replies usually does so every time (a ``base_url``
    that points at something other than the model API, a proxy's error page).
    Fix: check ``base_url`` and the server's logs.
    """


class ProviderTimeoutError(ProviderError, TimeoutError):
    """A request took longer than its ``timeout`` (raised by providers without an SDK).

    The SDK providers raise their SDK's own ``APITimeoutError`` instead.
    Fix: raise ``timeout=`` on the provider or the call, or find out why the server
    is slow.
    """


class SimulatedFailure(ProviderError):
    """The simulated provider failed on purpose (``failure_rate``).

    The message names the ``provider/model`` that was called (``flaky/s`` for a
    ``SimulatedProvider`` registered as ``flaky``). The failure is deterministic per
    (model, prompt, params), so retrying cannot help and the retry policy does not
    retry it.
    """
