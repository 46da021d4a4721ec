"""Optimisation with scan (pyember style): scan(step)(init, xs) runs a training loop."""

import jax
import jax.numpy as jnp

from ember.xcs import grad, scan

TARGET = jnp.array([1.0, -2.0, 0.5])


def loss(w):
    return jnp.sum((w - TARGET) ** 2)


def step(w, lr):
    w = w - lr * grad(loss)(w)
    return w, loss(w)


if __name__ == "__main__":
    train = scan(step)
    final, losses = train(jnp.zeros(3), jnp.full(50, 0.1))
    reference, ref_losses = jax.lax.scan(lambda w, lr: (w - lr * jax.grad(loss)(w),
                                                        loss(w - lr * jax.grad(loss)(w))),
                                         jnp.zeros(3), jnp.full(50, 0.1))
    print("loss decreased:", bool(losses[-1] < losses[0]))
    print("final loss < 1e-4:", bool(losses[-1] < 1e-4))
    print("matches jax.lax.scan:", bool(jnp.allclose(final, reference)))
