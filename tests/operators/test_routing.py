"""``Router``, ``router`` and ``LearnableRouter``."""

from __future__ import annotations

import pytest

from ember.operators import LearnableRouter, Router, router
from ember.xcs import XCSError, jit
from tests.operators.steps import Exclaim, Upper


def by_length(text):
    return "long" if len(text) > 5 else "short"


def test_router_sends_each_input_to_its_route():
    route = Router({"short": str.upper, "long": str.title}, router_fn=by_length)
    assert (route("hi"), route("hello world")) == ("HI", "Hello World")
    assert router({"short": str.upper}, by_length, default_route="short")("hello world") == (
        "HELLO WORLD")


def test_unknown_route_without_default_raises_key_error():
    with pytest.raises(KeyError, match="no route named 'long'"):
        Router({"short": str.upper}, router_fn=by_length)("hello world")


@pytest.mark.parametrize("kwargs, message", [
    ({"routes": {}, "router_fn": by_length}, "non-empty"),
    ({"routes": {"a": 3}, "router_fn": by_length}, "callable"),
    ({"routes": {"a": str.upper}, "router_fn": 3}, "router_fn"),
    ({"routes": {"a": str.upper}, "router_fn": by_length, "default_route": "b"}, "default_route"),
])
def test_router_validates(kwargs, message):
    with pytest.raises(XCSError, match=message):
        Router(**kwargs)


def test_learnable_router_routes_by_its_weights():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    routes = {"a": lambda s: "A:" + s, "b": lambda s: "B:" + s}
    learned = LearnableRouter(routes, embed_dim=2, key=jax.random.PRNGKey(1),
                              embedding_fn=lambda s: jnp.array([1.0, 0.0]))
    to_b = learned.update_params(routing_weights=jnp.array([[0.0, 5.0], [0.0, 0.0]]))
    assert to_b("x") == "B:x"
    assert to_b.choose("x") == ("b", "x")
    probabilities = to_b.compute_route_probabilities(jnp.array([[1.0, 0.0], [0.0, 1.0]]))
    assert probabilities.shape == (2, 2) and jnp.allclose(probabilities.sum(axis=1), 1.0)


def test_learnable_router_without_embedding_fn_reads_data_and_embedding():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy

    class Item:
        data = "payload"
        embedding = jnp.array([0.0, 1.0])

    learned = LearnableRouter({"a": str.upper, "b": str.lower}, embed_dim=2,
                              key=jax.random.PRNGKey(0), temperature=0.5)
    assert learned(Item()) in ("PAYLOAD", "payload")
    with pytest.raises(XCSError, match="embedding_fn"):
        learned("no attributes")
    with pytest.raises(XCSError, match="temperature"):
        LearnableRouter({"a": str.upper}, embed_dim=2, key=jax.random.PRNGKey(0),
                        temperature=0)


def test_keyword_style_routes_and_router_fn_are_called_as_chain_calls_them():
    route = Router({"loud": Upper(), "plain": Exclaim()},
                   router_fn=lambda text: "loud" if text.startswith("!") else "plain")
    assert (route("!hi"), route("hi")) == ("!HI", "hi!")
    assert jit(route)("!hi") == "!HI"

    class Pick(Upper):
        def forward(self, *, inputs):
            return "loud" if len(inputs) > 3 else "plain"

    picked = Router({"loud": Upper(), "plain": Exclaim()}, router_fn=Pick())
    assert (picked("long one"), picked("hi")) == ("LONG ONE", "hi!")


def test_learnable_router_calls_a_keyword_style_route_with_inputs():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    learned = LearnableRouter({"a": Upper(), "b": Exclaim()}, embed_dim=2,
                              key=jax.random.PRNGKey(1),
                              embedding_fn=lambda s: jnp.array([1.0, 0.0]))
    to_a = learned.update_params(routing_weights=jnp.array([[5.0, 0.0], [0.0, 0.0]]))
    assert to_a("x") == "X"


def test_learnable_router_under_jit_gives_its_embedding_fn_and_jax_values():
    # Given an op result, the user's embedding_fn saw a Lazy (type(text) differed from
    # plain); an embedding_fn that is an op (a model's embedding) failed on the second
    # call: "Argument ... of type <class 'ember.xcs.tracing.lazy.Lazy'> is not a valid
    # JAX type".
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    from ember.xcs import op

    seen = []

    def kind_and_length(text):
        seen.append(type(text).__name__)
        return jnp.array([float(len(text)), 1.0])

    @op
    def draft(text):
        return "d" + text

    for embedding_fn in (kind_and_length, op(kind_and_length)):
        routes = {"a": str.upper, "b": str.lower}
        pick = LearnableRouter(routes, embed_dim=2, key=jax.random.PRNGKey(1),
                               embedding_fn=embedding_fn)

        def routed(text, pick=pick):
            return [pick(draft(text)), pick(text * 3)]

        jitted = jit(routed)
        for text in ("a", "bbbb", "cc"):
            del seen[:]
            expected = routed(text)
            plain_seen = list(seen)
            del seen[:]
            assert jitted(text) == expected
            assert seen == plain_seen
