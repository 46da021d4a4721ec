"""The provider registry: model ids to providers, and one op per model.

A model id is ``provider/model`` (``openai/gpt-4o``, ``simulated/judge``) or a bare
name that a provider claims by prefix (``gpt-4o`` → ``openai``, ``claude-…`` →
``anthropic``). A (provider, model) pair has one cached XCS op named ``llm[model]``,
built by ``model_op`` (``ember.models.model_op``). The cache keeps the
``op_cache_size`` (default 1024) most recently used models; older ones are dropped
and rebuilt on their next call, so any number of distinct model ids keeps memory
bounded. ``call_target`` is what every ``models(...)`` call asks for: the provider
and the op of a model id, found with one lock and three dict look-ups once the id
has been resolved (as many resolved ids are remembered as ops are kept).
"""

from __future__ import annotations

import difflib
import threading
import types
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import cast

from ember.models._checks import check_positive_int
from ember.models._text import clip
from ember.models.errors import InvalidParamsError, ModelNotFoundError, ProviderNotFoundError
from ember.models.model_op import ModelOp, model_op
from ember.models.providers import (
    AnthropicProvider,
    OllamaProvider,
    OpenAIProvider,
    Provider,
    SimulatedProvider,
)

# ``model_op`` lives in ``ember.models.model_op``; it stays importable from here, where
# it was defined before.
__all__ = ["OP_CACHE_SIZE", "ProviderRegistry", "default_registry", "model_op"]

ProviderSource = Provider | Callable[[], Provider]

OP_CACHE_SIZE = 1024
"""How many model ops a registry keeps by default (least recently used go first)."""


@dataclass
class _Entry:
    source: ProviderSource
    prefixes: tuple[str, ...]
    provider: Provider | None = None


def _checked_prefixes(name: str, model_prefixes: object) -> tuple[str, ...]:
    """``model_prefixes`` as a tuple of non-empty strs (one str is one prefix)."""
    if isinstance(model_prefixes, str):
        model_prefixes = (model_prefixes,)
    how = (
        f"pass model_prefixes as a str or a list of non-empty strs, e.g. "
        f"register_provider({name!r}, provider, model_prefixes=['llama', 'qwen'])."
    )
    if not isinstance(model_prefixes, Iterable):
        raise InvalidParamsError(
            f"model_prefixes for provider {name!r} must be a str or an iterable of strs, "
            f"got {type(model_prefixes).__name__}; {how}"
        )
    prefixes = tuple(model_prefixes)
    for prefix in prefixes:
        if not isinstance(prefix, str) or not prefix:
            raise InvalidParamsError(
                f"model_prefixes for provider {name!r} contains {clip(prefix)} "
                f"({type(prefix).__name__}); every prefix must be a non-empty str (an empty "
                f"one would claim every bare model name); {how}"
            )
    return prefixes


class ProviderRegistry:
    """Named providers, model-id resolution and the cache of model ops.

    Thread-safe: every read and write of the entries and the op cache happens under
    ``_lock``.

    Args:
        op_cache_size: how many model ops to keep (least recently used go first).

    Raises:
        InvalidParamsError: ``op_cache_size`` is not a positive int.

    Example:
        >>> registry = ProviderRegistry()
        >>> registry.register("sim", SimulatedProvider())
        >>> registry.resolve("sim/demo")
        ('sim', 'demo')
    """

    def __init__(self, *, op_cache_size: int = OP_CACHE_SIZE) -> None:
        check_positive_int("ProviderRegistry", "op_cache_size", op_cache_size, optional=False)
        self.op_cache_size = op_cache_size
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._ops: OrderedDict[tuple[str, str], ModelOp] = OrderedDict()
        # Model id -> (provider name, model): what ``resolve`` said since the last
        # ``register`` (which may change any answer, so it empties this). Oldest first.
        self._resolved: dict[str, tuple[str, str]] = {}
        self._generation = 0  # counts ``register`` calls; a stale resolution is not kept

    def register(
        self,
        name: str,
        provider: ProviderSource,
        *,
        model_prefixes: str | Iterable[str] | None = None,
    ) -> None:
        """Register (or replace) the provider called ``name``.

        Args:
            name: the ``name/...`` part of model ids; no ``/``.
            provider: a ``Provider`` or a zero-argument factory making one on first use.
            model_prefixes: bare model names starting with one of these resolve to this
                provider (default: keep the replaced entry's prefixes, else none). A
                single str is one prefix (as with ``str.startswith``), not its letters.

        Raises:
            InvalidParamsError: bad name, non-provider, a prefix that is not a
                non-empty str, or a prefix another provider already claims.
        """
        if not isinstance(name, str) or not name or "/" in name:
            raise InvalidParamsError(
                f"Provider names are non-empty and contain no '/', got {clip(name)}."
            )
        if not (isinstance(provider, Provider) or callable(provider)):
            raise InvalidParamsError(
                f"register_provider({clip(name)}, ...) needs a Provider instance or a factory, "
                f"got {type(provider).__name__}."
            )
        new_prefixes = None if model_prefixes is None else _checked_prefixes(name, model_prefixes)
        with self._lock:
            previous = self._entries.get(name)
            if new_prefixes is not None:
                prefixes = new_prefixes
            else:
                prefixes = previous.prefixes if previous is not None else ()
            for other, entry in self._entries.items():
                clash = set(prefixes) & set(entry.prefixes)
                if other != name and clash:
                    raise InvalidParamsError(
                        f"Model prefix(es) {sorted(clash)} already belong to provider {other!r}."
                    )
            self._entries[name] = _Entry(
                source=provider,
                prefixes=prefixes,
                provider=provider if isinstance(provider, Provider) else None,
            )
            for key in [key for key in self._ops if key[0] == name]:
                del self._ops[key]
            self._resolved.clear()
            self._generation += 1

    def snapshot(self) -> Mapping[str, object]:
        """What is registered now, for ``restore``: opaque, unchanged by later calls."""
        with self._lock:
            return types.MappingProxyType(dict(self._entries))

    def restore(self, snapshot: Mapping[str, object]) -> None:
        """Register again exactly what ``snapshot`` held, dropping providers registered
        since; model ops and resolutions made meanwhile are forgotten.

        Example:
            >>> registry = ProviderRegistry()
            >>> before = registry.snapshot()
            >>> registry.register("sim", SimulatedProvider())
            >>> registry.restore(before); registry.names()
            []
        """
        entries = dict(snapshot)
        if not all(isinstance(entry, _Entry) for entry in entries.values()):
            raise InvalidParamsError("restore takes what ProviderRegistry.snapshot() returned.")
        with self._lock:
            self._entries = cast("dict[str, _Entry]", entries)
            self._ops.clear()
            self._resolved.clear()
            self._generation += 1

    def names(self) -> list[str]:
        """Registered provider names, sorted."""
        with self._lock:
            return sorted(self._entries)

    def resolve(self, model_id: str) -> tuple[str, str]:
        """Split ``model_id`` into (provider name, model name).

        ``provider/model``, pyember's ``provider:model`` (when ``provider`` is registered:
        ``ollama/llama3.2:1b`` keeps its tag) or a bare name a provider's prefix claims.

        Raises:
            ProviderNotFoundError: ``x/model`` with an unregistered ``x``.
            ModelNotFoundError: a bare name no provider claims, or an empty name.
        """
        if not isinstance(model_id, str) or not model_id.strip():
            raise ModelNotFoundError(f"A model id must be a non-empty str, got {clip(model_id)}.")
        with self._lock:
            if "/" in model_id:
                name, model = model_id.split("/", 1)
                if name not in self._entries:
                    raise ProviderNotFoundError(
                        f"Unknown provider {clip(name)} in model id {clip(model_id)}; registered "
                        f"providers: {', '.join(sorted(self._entries))}."
                    )
                if not model:
                    raise ModelNotFoundError(f"Model id {clip(model_id)} names no model after '/'.")
                return name, model
            name, colon, model = model_id.partition(":")
            if colon and name in self._entries and model:
                return name, model  # pyember's "provider:model" form ("openai:gpt-4o")
            claims = [
                (len(prefix), name)
                for name, entry in self._entries.items()
                for prefix in entry.prefixes
                if model_id.startswith(prefix)
            ]
            if claims:
                return max(claims)[1], model_id
        raise ModelNotFoundError(self._unknown_model_message(model_id))

    def _unknown_model_message(self, model_id: str) -> str:
        known = self.list_models()
        close = difflib.get_close_matches(model_id[:100], [k.split("/", 1)[1] for k in known], n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        with self._lock:
            prefixes = [
                f"{prefix}* -> {name}"
                for name, entry in sorted(self._entries.items())
                for prefix in entry.prefixes
            ]
        return (
            f"Unknown model id {clip(model_id)}.{hint} Write 'provider/model' with a provider "
            f"from: {', '.join(self.names())}; bare names resolve by prefix "
            f"({', '.join(prefixes) or 'none registered'}). Known models: {', '.join(known)}."
        )

    def provider(self, name: str) -> Provider:
        """The provider called ``name``, made by its factory on first use.

        Raises:
            ProviderNotFoundError: no provider has that name.
            InvalidParamsError: the factory did not return a ``Provider``.
        """
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                raise ProviderNotFoundError(
                    f"Unknown provider {clip(name)}; registered providers: "
                    f"{', '.join(sorted(self._entries))}."
                )
            if entry.provider is None:
                made = entry.source() if callable(entry.source) else entry.source
                if not isinstance(made, Provider):
                    raise InvalidParamsError(
                        f"The factory registered for provider {name!r} returned "
                        f"{type(made).__name__}, not a Provider."
                    )
                entry.provider = made
            return entry.provider

    def op_for(self, name: str, model: str) -> ModelOp:
        """The cached op that calls ``model`` on provider ``name`` (built on first use).

        Raises:
            ProviderNotFoundError: no provider has that name.
        """
        key = (name, model)
        with self._lock:
            cached = self._ops.get(key)
            if cached is not None:
                self._ops.move_to_end(key)
                return cached
        provider = self.provider(name)
        built = model_op(name, provider, model)
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.provider is not provider:
                return built  # replaced meanwhile: use it once, cache nothing stale
            cached = self._ops.setdefault(key, built)
            self._ops.move_to_end(key)
            while len(self._ops) > self.op_cache_size:
                self._ops.popitem(last=False)
            return cached

    def call_target(self, model_id: str) -> tuple[Provider, ModelOp]:
        """The prepared provider and the op that ``models(model_id, ...)`` calls.

        The same as ``resolve``, ``provider(name).prepare()`` and ``op_for``, in that
        order and with the same errors; ``prepare`` runs on every call (a key may be
        set or removed meanwhile), the rest is looked up once per id.

        Raises:
            As ``resolve``, ``provider``, the provider's ``prepare`` and ``op_for``.

        Example:
            >>> registry = ProviderRegistry()
            >>> registry.register("sim", SimulatedProvider())
            >>> provider, call = registry.call_target("sim/demo")
            >>> call.name, call("hi").model_id
            ('llm[demo]', 'sim/demo')
        """
        if isinstance(model_id, str):  # anything else fails in ``resolve``, as it should
            with self._lock:
                target = self._cached_target(model_id)
            if target is not None:
                target[0].prepare()
                return target
        with self._lock:
            generation = self._generation
        name, model = self.resolve(model_id)
        provider = self.provider(name)
        provider.prepare()
        built = self.op_for(name, model)
        with self._lock:
            if self._generation == generation:
                self._resolved[model_id] = (name, model)
                while len(self._resolved) > self.op_cache_size:
                    del self._resolved[next(iter(self._resolved))]
        return provider, built

    def _cached_target(self, model_id: str) -> tuple[Provider, ModelOp] | None:
        """The provider and op of an id resolved before, when both are cached (lock held)."""
        key = self._resolved.get(model_id)
        if key is None:
            return None
        cached = self._ops.get(key)
        if cached is None:
            return None
        provider = self._entries[key[0]].provider
        # An op is cached only after its provider was made; ``register`` drops both.
        assert provider is not None
        self._ops.move_to_end(key)
        return provider, cached

    def cached_ops(self) -> int:
        """How many model ops the cache holds now (at most ``op_cache_size``)."""
        with self._lock:
            return len(self._ops)

    def list_models(self, provider: str | None = None) -> list[str]:
        """``provider/model`` ids of the models each provider knows, sorted by provider.

        Providers registered as a factory and not used yet are listed as
        ``name/<model>``; the simulated provider accepts any name.

        Args:
            provider: only this provider's models (default: every provider's).

        Raises:
            ProviderNotFoundError: ``provider`` is not registered (names the ones that are).
            InvalidParamsError: ``provider`` is not a str.
        """
        if provider is not None and not isinstance(provider, str):
            raise InvalidParamsError(
                f"models.list(provider=...) takes a provider name (str) or None, "
                f"got {type(provider).__name__}."
            )
        with self._lock:
            if provider is not None and provider not in self._entries:
                raise ProviderNotFoundError(
                    f"Unknown provider {clip(provider)}; registered providers: "
                    f"{', '.join(sorted(self._entries))}."
                )
            entries = sorted(
                (name, entry)
                for name, entry in self._entries.items()
                if provider in (None, name)
            )
        listed: list[str] = []
        for name, entry in entries:
            source = entry.provider if entry.provider is not None else entry.source
            known = getattr(source, "known_models", ())
            listed.extend(f"{name}/{model.split('/', 1)[-1]}" for model in known)
            if not known:
                listed.append(f"{name}/<model>")
        return listed


def default_registry() -> ProviderRegistry:
    """The process-wide registry behind ``ember.api.models.models``."""
    return _DEFAULT


def _with_builtins() -> ProviderRegistry:
    registry = ProviderRegistry()
    registry.register(
        "openai", OpenAIProvider, model_prefixes=("gpt-", "o1", "o3", "o4", "chatgpt-")
    )
    registry.register("anthropic", AnthropicProvider, model_prefixes=("claude-",))
    # No prefixes: local model names (llama3.2, qwen2.5, ...) are not Ollama's alone.
    registry.register("ollama", OllamaProvider)
    registry.register("simulated", SimulatedProvider)
    return registry


_DEFAULT = _with_builtins()
