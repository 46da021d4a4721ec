"""The tracer (stage 1 in docs/architecture.md): a jitted function's glue under a ``Trace``.

``rewrite`` and ``runtime`` make the places where a lazy value could be observed
visible, ``trace`` turns op calls into engine tasks and ``Lazy`` values, ``frames``
reads call sites, ``escapes`` repairs lazy values stored elsewhere when a call ends,
``log`` keeps the compact record of a call, and ``versions`` holds everything that
differs between CPython 3.11, 3.12 and 3.13.
"""
