"""``ModelBinding``: a model id with default parameters, callable with a prompt."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from ember.models.registry import ProviderRegistry
from ember.models.response import Response

__all__ = ["ModelBinding"]


class ModelBinding:
    """A reusable handle on one model: ``binding(prompt, **params)``.

    The model id and the defaults are checked when the binding is made. Each call is
    an XCS op: under ``@jit`` it returns at once and runs concurrently with other
    calls; outside a trace it runs now and returns the ``Response``.

    Args:
        model_id: ``provider/model`` or a bare name a provider claims.
        registry: where providers are looked up.
        **defaults: parameters for every call (a call's own parameters win).

    Raises:
        ModelNotFoundError, ProviderNotFoundError: the id does not resolve.
        InvalidParamsError: a default is unknown to the provider or out of range.

    Example:
        >>> from ember.models.registry import default_registry
        >>> judge = ModelBinding("simulated/judge", registry=default_registry(), temperature=0)
        >>> judge("Is water wet? Answer with one of: yes, no").simulated
        True
    """

    def __init__(self, model_id: str, *, registry: ProviderRegistry, **defaults: Any) -> None:
        self.provider_name, self.model = registry.resolve(model_id)
        self.model_id = f"{self.provider_name}/{self.model}"
        self.defaults = MappingProxyType(dict(defaults))
        self._registry = registry
        registry.provider(self.provider_name).validate(self.model_id, self.defaults)

    def __call__(self, prompt: Any, **params: Any) -> Response:
        provider = self._registry.provider(self.provider_name)
        provider.prepare()
        model_op = self._registry.op_for(self.provider_name, self.model)
        result: Response = model_op(prompt, **{**self.defaults, **params})
        return result

    def __repr__(self) -> str:
        settings = "".join(f", {key}={value!r}" for key, value in self.defaults.items())
        return f"ModelBinding({self.model_id!r}{settings})"
