"""What the registry knows about models: ``describe_models`` and the ``Models`` constants.

``describe_models`` gives the facts behind ``models.discover()``. pyember exports
``Models`` from ``ember.api`` so that editors can complete model ids (``Models.GPT_4O``).
Both read the registry at each use, so a provider registered later (or a replaced
one) shows up with its ``known_models``. A constant's value is the canonical
``provider/model`` id, which every call accepts and which is exactly what
``Response.model_id`` reports.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, NoReturn

from ember.models.registry import ProviderRegistry, default_registry

__all__ = ["ModelFacts", "Models", "constant_name", "describe_models"]


class ModelFacts(dict[str, Any]):
    """One model's entry of ``models.discover()``: a dict whose missing keys say why.

    pyember's entries came from a model catalogue (``description``, ``context_window``,
    ``pricing`` ...); Ember keeps none, so reading such a key raises a ``KeyError`` that
    names the facts there are (``get`` returns its default, as for any dict).
    """

    __slots__ = ()

    def __missing__(self, key: Any) -> NoReturn:
        raise KeyError(f"models.discover() facts have no {key!r}: Ember keeps no model "
                       f"catalogue (pyember's description, context_window ...); the facts "
                       f"are {', '.join(self)}.")

_NOT_NAME = re.compile(r"[^0-9A-Za-z]+")


def describe_models(
    registry: ProviderRegistry, provider: str | None = None
) -> dict[str, dict[str, Any]]:
    """What ``registry`` knows about each model it lists, keyed as ``list_models``.

    Each entry: ``provider``, ``model`` (the part after ``/``), ``simulated``,
    ``parameters`` (the call parameters the provider accepts, sorted),
    ``max_concurrency`` and ``base_url`` (``None`` for the SDK's default server, or for
    providers without one). Providers registered as a factory are made here; no
    request is sent.

    Raises:
        ProviderNotFoundError, InvalidParamsError: as ``ProviderRegistry.list_models``.

    Example:
        >>> facts = describe_models(default_registry(), "openai")["openai/gpt-4o"]
        >>> facts["provider"], facts["simulated"], "seed" in facts["parameters"]
        ('openai', False, True)
    """
    described: dict[str, dict[str, Any]] = {}  # values are ModelFacts
    for model_id in registry.list_models(provider):
        name, model = model_id.split("/", 1)
        made = registry.provider(name)
        described[model_id] = ModelFacts(
            provider=name,
            model=model,
            simulated=made.simulated,
            parameters=sorted(made.accepted_params),
            max_concurrency=made.max_concurrency,
            base_url=getattr(made, "base_url", None),
        )
    return described


def constant_name(model: str) -> str:
    """The constant spelling of a model name: upper case, runs of other signs as ``_``.

    Example:
        >>> constant_name("gpt-4.1-mini"), constant_name("llama3.2:1b")
        ('GPT_4_1_MINI', 'LLAMA3_2_1B')
    """
    return _NOT_NAME.sub("_", model).strip("_").upper()


# The constants pyember's ``Models`` had (its catalogue's stable models, named by
# ``constant_name``), as ids here: ``Models.GPT_4`` keeps working. Those of a provider
# not registered (pyember's Gemini models: no ``google`` provider) are absent.
_PYEMBER_CONSTANTS = {constant_name(model): f"{provider}/{model}" for provider, models in (
    ("openai", ("gpt-4", "gpt-4-turbo", "gpt-4o", "gpt-4o-mini", "gpt-3.5-turbo",
                "gpt-3.5-turbo-16k")),
    ("anthropic", ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet-latest",
                   "claude-3-5-haiku-20241022", "claude-3-5-haiku-latest", "claude-3-opus",
                   "claude-3-opus-latest", "claude-3-opus-20240229", "claude-3-sonnet",
                   "claude-3-sonnet-20240229", "claude-3-haiku", "claude-3-haiku-20240307")),
    ("google", ("gemini-1.5-pro-latest", "gemini-1.5-flash-latest", "gemini-2.5-pro",
                "gemini-2.5-flash", "gemini-2.5-flash-lite")),
) for model in models}


def _constants() -> dict[str, str]:
    """Constant name -> ``provider/model`` for every model the registry names.

    A model name two providers share gets its provider in front in both constants
    (``OPENAI_X`` and ``OLLAMA_X``), so no constant silently picks one of them.
    """
    by_name: dict[str, list[str]] = {}
    for model_id in default_registry().list_models():
        model = model_id.split("/", 1)[1]
        if model.startswith("<"):  # a placeholder: the provider takes any name
            continue
        by_name.setdefault(constant_name(model), []).append(model_id)
    registered = set(default_registry().names())
    # pyember's constants (Models.GPT_4 ...) name models of providers registered here.
    constants = {name: model_id for name, model_id in _PYEMBER_CONSTANTS.items()
                 if model_id.split("/", 1)[0] in registered}
    for name, ids in by_name.items():
        if len(ids) == 1:
            constants[name] = ids[0]
        else:
            constants.update({constant_name(model_id): model_id for model_id in ids})
    return constants


class _ReadOnlyConstants(type):
    """Looks constants up in the registry; refuses to set or delete any."""

    def __getattr__(cls, name: str) -> str:
        constants = _constants()
        if name in constants:
            return constants[name]
        close = difflib.get_close_matches(name, constants, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise AttributeError(
            f"Models has no constant {name!r}.{hint} Constants come from the known models "
            f"of the registered providers (models.list()); any 'provider/model' string "
            f"works in a call too."
        )

    def __dir__(cls) -> list[str]:
        return sorted({*super().__dir__(), *_constants()})

    def __setattr__(cls, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"Models is read-only; cannot set {name!r}.")

    def __delattr__(cls, name: str) -> NoReturn:
        raise AttributeError(f"Models is read-only; cannot delete {name!r}.")


class Models(metaclass=_ReadOnlyConstants):
    """Known model ids as constants: ``models(Models.GPT_4O, "hi")``.

    Each constant is a ``provider/model`` str, named by ``constant_name`` of the
    model part. ``dir(Models)`` lists them; a wrong name raises ``AttributeError``
    with the closest ones.

    Example:
        >>> Models.GPT_4O, Models.LLAMA3_2_1B
        ('openai/gpt-4o', 'ollama/llama3.2:1b')
    """
