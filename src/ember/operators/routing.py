"""Routing operators: send each input to one of several operators.

``Router`` asks a routing function for a route name. ``LearnableRouter`` scores the
routes with JAX weights (softmax over ``embedding @ weights``) and takes the best;
its weights are pytree leaves, so ``jax.grad`` / optax train them like any model
parameters while the routes themselves stay static.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from ember.operators.base import Operator, call_step
from ember.xcs import XCSError
from ember.xcs.tracing import context

__all__ = ["LearnableRouter", "Router", "router"]


def _routes(routes: Mapping[str, Callable[..., Any]], owner: str) -> dict[str, Callable[..., Any]]:
    if not isinstance(routes, Mapping) or not routes:
        raise XCSError(
            f"{owner} needs a non-empty dict of route name -> operator, got {routes!r}."
        )
    for name, target in routes.items():
        if not callable(target):
            raise XCSError(
                f"{owner}: route {name!r} must be callable, got {type(target).__name__}."
            )
    return dict(routes)


class Router(Operator):
    """Send the input to the operator named by ``router_fn(input)``.

    Args:
        routes: route name -> operator (or any callable).
        router_fn: takes the input, returns a route name.
        default_route: the route used when ``router_fn`` names an unknown one.

    Raises:
        XCSError: empty routes, a route that is not callable, or a ``default_route``
            that is not one of the routes.
        KeyError: (on call) an unknown route and no default.

    Example:
        >>> by_length = Router({"short": str.upper, "long": str.title},
        ...                    router_fn=lambda text: "long" if len(text) > 5 else "short")
        >>> by_length("hi"), by_length("hello world")
        ('HI', 'Hello World')
    """

    def __init__(self, routes: Mapping[str, Callable[..., Any]],
                 router_fn: Callable[[Any], Any], default_route: str | None = None) -> None:
        self.routes = _routes(routes, "Router")
        if not callable(router_fn):
            raise XCSError(f"Router(router_fn=...) must be callable, got {router_fn!r}.")
        if default_route is not None and default_route not in self.routes:
            raise XCSError(
                f"Router: default_route {default_route!r} is not one of the routes "
                f"{sorted(self.routes)}."
            )
        self.router_fn = router_fn
        self.default_route = default_route

    def forward(self, input: Any) -> Any:
        """The chosen route's output for ``input``."""
        route = call_step(self.router_fn, input)
        if route not in self.routes:
            if self.default_route is None:
                raise KeyError(
                    f"Router: no route named {route!r} (routes: {sorted(self.routes)}); "
                    "give Router a default_route to catch unknown names."
                )
            route = self.default_route
        return call_step(self.routes[route], input)

    def __repr__(self) -> str:
        return f"Router(routes={sorted(self.routes)})"


def router(routes: Mapping[str, Callable[..., Any]], router_fn: Callable[[Any], Any],
           default_route: str | None = None) -> Router:
    """A ``Router`` (pyember's shortcut).

    Example:
        >>> router({"a": str.upper}, router_fn=lambda _: "a")("x")
        'X'
    """
    return Router(routes, router_fn, default_route)


def _value(embedding: Any) -> Any:
    """``embedding`` with op results in it replaced by their values (a wait under
    ``@jit``): JAX takes no lazy value, and the route depends on the numbers."""
    force_tree = getattr(context.current_trace(), "force_tree", None)
    return embedding if force_tree is None else force_tree(embedding, "LearnableRouter route")


def _jax() -> tuple[ModuleType, ModuleType]:
    try:
        return importlib.import_module("jax"), importlib.import_module("jax.numpy")
    except ModuleNotFoundError:
        raise ImportError(
            "LearnableRouter needs JAX, which is not installed. Install the extra: "
            "pip install 'ember-xcs[jax]'"
        ) from None


class LearnableRouter(Operator):
    """Route by learned weights: ``softmax(embedding @ routing_weights / temperature)``.

    The weights (shape ``(embed_dim, len(routes))``) and the temperature are JAX
    arrays, hence pytree leaves: ``jax.grad`` of a loss over the router gives their
    gradients, and an optax step updates them. Calling the router sends the input to
    the route with the highest probability.

    Args:
        routes: route name -> operator (or any callable); the order fixes the columns.
        embed_dim: the size of the embeddings.
        key: a ``jax.random`` key for the initial weights.
        embedding_fn: input -> embedding (a JAX array). ``None``: the input must have
            ``.data`` (what the route receives) and ``.embedding`` attributes.
        temperature: softmax temperature (> 0; lower is more decisive).

    Raises:
        ImportError: JAX is not installed.
        XCSError: bad routes, a non-positive ``embed_dim`` or temperature.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> pick = LearnableRouter({"a": str.upper, "b": str.lower}, embed_dim=2,
        ...                        key=jax.random.PRNGKey(0), embedding_fn=lambda s: jnp.ones(2))
        >>> pick("Hi") in ("HI", "hi")
        True
    """

    def __init__(self, routes: Mapping[str, Callable[..., Any]], embed_dim: int, key: Any,
                 embedding_fn: Callable[[Any], Any] | None = None,
                 temperature: float = 1.0) -> None:
        jax, jnp = _jax()
        self.routes = _routes(routes, "LearnableRouter")
        if isinstance(embed_dim, bool) or not isinstance(embed_dim, int) or embed_dim <= 0:
            raise XCSError(f"LearnableRouter(embed_dim=...) must be a positive int, got "
                           f"{embed_dim!r}.")
        if not float(temperature) > 0:
            raise XCSError(f"LearnableRouter(temperature=...) must be > 0, got {temperature!r}.")
        if embedding_fn is not None and not callable(embedding_fn):
            raise XCSError(f"LearnableRouter(embedding_fn=...) must be callable or None, got "
                           f"{embedding_fn!r}.")
        self.route_names = tuple(self.routes)
        self.embedding_fn = embedding_fn
        self.routing_weights = jax.random.normal(key, (embed_dim, len(self.routes)))
        self.temperature = jnp.asarray(float(temperature))

    def compute_route_probabilities(self, embedding: Any) -> Any:
        """Route probabilities for ``embedding`` (differentiable in the weights).

        Works on one embedding (shape ``(embed_dim,)``) or a batch ``(n, embed_dim)``.
        """
        jax, _ = _jax()
        return jax.nn.softmax(embedding @ self.routing_weights / self.temperature, axis=-1)

    def choose(self, input: Any) -> tuple[str, Any]:
        """``(route name, what the route receives)`` for ``input``."""
        _, jnp = _jax()
        if self.embedding_fn is not None:
            # Called as jitted code calls it: the user's function sees values, as in plain.
            data, embedding = input, context.call(self.embedding_fn, input)
        else:
            try:
                data, embedding = input.data, input.embedding
            except AttributeError:
                raise XCSError(
                    "LearnableRouter without embedding_fn needs inputs with .data and "
                    f".embedding attributes; got {type(input).__name__}. Pass "
                    "embedding_fn=... to compute embeddings from the input."
                ) from None
        index = int(jnp.argmax(self.compute_route_probabilities(_value(embedding))))
        return self.route_names[index], data

    def forward(self, input: Any) -> Any:
        """The output of the most probable route for ``input``."""
        route, data = self.choose(input)
        return call_step(self.routes[route], data)

    def __repr__(self) -> str:
        return (f"LearnableRouter(routes={list(self.route_names)}, "
                f"embed_dim={self.routing_weights.shape[0]})")
