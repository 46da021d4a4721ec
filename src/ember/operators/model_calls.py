"""Operators around one model call: ``ModelCall``, ``ExtractText``, ``ModelText``.

Each model call is an XCS op, so under ``@jit`` these return at once and run
concurrently with other calls; ``ExtractText`` reads ``.text`` from the result, which
a trace lifts without waiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ember.models import models
from ember.operators.base import Operator
from ember.operators.blocks import Chain
from ember.xcs import Op

__all__ = ["ExtractText", "ModelCall", "ModelText"]


def _prompt_of(value: Any) -> Any:
    """``value`` as a prompt: text and chat messages as they are, anything else as ``str``.

    A str, or a non-empty list or tuple of mappings (chat messages, checked by the model
    call), is already a prompt. Anything else (a number, a dict from a previous step)
    becomes ``str(value)``, as pyember's ``ModelCall`` sent it.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and value and all(isinstance(m, Mapping) for m in value):
        return value
    return str(value)


# An op, so that under ``@jit`` the conversion waits for a lazy input inside the graph
# (looking at the input in ``forward`` would block the trace until it is computed).
_as_prompt = Op(_prompt_of, name="ModelCall.prompt", deterministic=True)


class ModelCall(Operator):
    """Call one model with the input; return the full ``Response`` (text, usage, id).

    A str or a list of chat messages is sent as it is; any other input (a number, a
    dict from a previous step) is sent as ``str(input)``, as pyember did.

    Args:
        model_name: a model id (``"simulated/demo"``, ``"openai/gpt-4o"``, ...).
        **params: default parameters for every call (``temperature=...``).

    Raises:
        ModelNotFoundError, ProviderNotFoundError, InvalidParamsError: as
            ``models.instance``.

    Example:
        >>> reply = ModelCall("simulated/demo")("Hello")
        >>> reply.model_id, reply.text.startswith("[simulated]")
        ('simulated/demo', True)
    """

    def __init__(self, model_name: str = "gpt-4o", **params: Any) -> None:
        self.model = models.instance(model_name, **params)

    def forward(self, input: Any) -> Any:
        """The model's ``Response`` to ``input`` (``str(input)`` unless text or messages)."""
        return self.model(_as_prompt(input))

    def __repr__(self) -> str:
        return f"ModelCall({self.model.model_id!r})"


class ExtractText(Operator):
    """The ``.text`` of a model ``Response`` (handy after ``ModelCall`` in a chain).

    Example:
        >>> (ModelCall("simulated/demo") >> ExtractText())("Hi").startswith("[simulated]")
        True
    """

    def forward(self, response: Any) -> Any:
        """``response.text``."""
        return response.text


class ModelText(Operator):
    """Call one model and return only its text: ``ModelCall >> ExtractText``.

    Inputs are sent as ``ModelCall`` sends them (non-text inputs as ``str(input)``).

    Args:
        model_name: a model id.
        **params: default parameters for every call.

    Example:
        >>> type(ModelText("simulated/demo")("Hi")) is str
        True
    """

    def __init__(self, model_name: str, **params: Any) -> None:
        self.model_text = Chain([ModelCall(model_name, **params), ExtractText()])

    def forward(self, input: Any) -> Any:
        """The model's reply text for ``input``."""
        return self.model_text(input)

    def __repr__(self) -> str:
        return f"ModelText({self.model_text.steps[0]!r})"
