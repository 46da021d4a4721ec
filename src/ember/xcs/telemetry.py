"""OpenTelemetry spans for jitted calls and their ops (optional extra: ``otel``).

``instrument()`` registers a hook (``ember.xcs.hooks``) that opens

- one span per jitted call (or ``execute``): ``xcs.call <function>``, a child of
  whatever span is current where the call is made;
- one span per op node, a child of its call's span even though the op runs on a pool
  thread or the event loop: ``xcs.op <name>``, or for model calls, following the
  OpenTelemetry GenAI semantic conventions, ``chat <model>`` of kind ``CLIENT``.

The op's span is also made current *inside* the op's body, so spans that the body
opens (an instrumented HTTP client, a nested jitted call) nest under it.

Attributes (see ``docs/telemetry.md`` for the full table):

- call span: ``xcs.function``, and for jitted calls ``xcs.nodes``, ``xcs.ops`` and
  ``xcs.barriers`` (how often the glue waited for a value); status ``ERROR`` with the
  exception when the call raises;
- op span: ``xcs.node.id``, ``xcs.node.kind`` (``op``/``tensor``), ``xcs.op.name``,
  ``code.filepath``, ``code.lineno``, ``code.function`` (where the glue called it);
  ``ERROR`` status and the exception event when the body raises (under ``redact``, as
  ``Presets.SECURE`` sets, only the exception's type: its message may quote values);
- model calls also: ``gen_ai.operation.name`` (``chat``), ``gen_ai.request.model``,
  ``gen_ai.provider.name`` and ``gen_ai.system`` (the provider), ``gen_ai.response.model``,
  ``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``.

Cost: nothing is registered until ``instrument()`` is called (importing this module
does not import OpenTelemetry). Once registered, a call made while no tracer provider
is set up (OpenTelemetry's default no-op provider) is detected at its start and its
ops are skipped after one context lookup each.
"""

from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass
from typing import Any

from ember.xcs.errors import XCSError
from ember.xcs.hooks import CallSummary, NodeEvent, redacting, register_hook, unregister_hook
from ember.xcs.tracing.usage import usage_of

__all__ = ["OpenTelemetryHook", "instrument", "uninstrument"]

_SCOPE = "ember.xcs"


@dataclass
class _CallState:
    """One call: its span (``None`` when nothing records), what to restore at its end."""

    span: Any
    token: Any  # of the OpenTelemetry context attach
    state_token: contextvars.Token[_CallState | None] | None
    context: Any


_call_state: contextvars.ContextVar[_CallState | None] = contextvars.ContextVar(
    "ember_xcs_otel_call", default=None
)


def _require_otel() -> Any:
    try:
        from opentelemetry import trace
    except ImportError as error:
        raise XCSError(
            "ember.xcs.telemetry needs OpenTelemetry: pip install 'ember-xcs[otel]' (the API) "
            "and an SDK or distro that exports spans (e.g. opentelemetry-sdk)."
        ) from error
    return trace


class OpenTelemetryHook:
    """The hook ``instrument()`` registers (use it directly in ``Config(hooks=[...])``).

    Args:
        tracer_provider: where spans go (default: the global provider, looked up at
            each call, so a provider set after ``instrument()`` is used).

    Raises:
        XCSError: OpenTelemetry is not installed.
    """

    def __init__(self, tracer_provider: Any = None) -> None:
        self._trace = _require_otel()
        from opentelemetry import context as otel_context
        from opentelemetry.trace import SpanKind, Status, StatusCode

        self._context = otel_context
        self._kinds = SpanKind
        self._status = Status
        self._codes = StatusCode
        # Without a provider this is a proxy that follows the global provider, even one
        # set after instrument().
        self._tracer = self._trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        self._spans: dict[tuple[int, int], tuple[Any, _CallState, Any, bool]] = {}
        self._lock = threading.Lock()  # guards _spans: node events come from many threads

    # -- calls ---------------------------------------------------------------------

    def on_graph_start(self, name: str) -> None:
        span = self._tracer.start_span(f"xcs.call {name}", kind=self._kinds.INTERNAL,
                                       attributes={"xcs.function": name})
        if not span.is_recording():  # no SDK / no provider: stay out of the way
            span.end()
            state = _CallState(None, None, None, None)
        else:
            context = self._trace.set_span_in_context(span)
            state = _CallState(span, self._context.attach(context), None, context)
        state.state_token = _call_state.set(state)

    def on_call_end(self, summary: CallSummary) -> None:
        state = _call_state.get()
        if state is None or state.span is None:
            return
        state.span.set_attributes({"xcs.nodes": summary.nodes, "xcs.ops": summary.ops,
                                   "xcs.barriers": summary.barriers})

    def on_graph_end(self, name: str, seconds: float, error: BaseException | None) -> None:
        state = _call_state.get()
        if state is None:
            return
        if state.state_token is not None:
            try:
                _call_state.reset(state.state_token)
            except ValueError:  # the call ended in another context than it started in
                _call_state.set(None)
        span = state.span
        if span is None:
            return
        if error is not None:
            self._failed(span, error)
        span.end()
        try:
            self._context.detach(state.token)
        except ValueError:  # the call ended in another context than it started in
            pass

    # -- ops -----------------------------------------------------------------------

    def on_node_start(self, event: NodeEvent) -> None:
        body_context = event.context
        if body_context is None:
            return
        state = body_context.get(_call_state)
        if state is None or state.span is None:
            return
        model = _model_of(event.name)
        attributes: dict[str, Any] = {
            "xcs.node.id": event.node,
            "xcs.node.kind": event.kind,
            "xcs.op.name": event.name,
        }
        location = event.location
        if location is not None:
            attributes["code.filepath"] = location.filename
            attributes["code.lineno"] = location.lineno
            attributes["code.function"] = location.function
        if model is not None:
            attributes["gen_ai.operation.name"] = "chat"
            attributes["gen_ai.request.model"] = model
        span = self._tracer.start_span(
            f"chat {model}" if model is not None else f"xcs.op {event.name}",
            context=state.context,
            kind=self._kinds.CLIENT if model is not None else self._kinds.INTERNAL,
            attributes=attributes,
        )
        # Make the op's span current inside its body (which runs in body_context).
        token = body_context.run(self._context.attach, self._trace.set_span_in_context(span))
        with self._lock:
            self._spans[(event.call, event.node)] = (span, state, token, model is not None)

    def on_node_end(self, event: NodeEvent) -> None:
        finished = self._finish(event)
        if finished is None:
            return
        span, is_model = finished
        result = event.result
        usage = usage_of(result) if is_model else None
        if usage is not None:
            provider = getattr(result, "provider", None)
            if isinstance(provider, str):
                span.set_attribute("gen_ai.provider.name", provider)
                span.set_attribute("gen_ai.system", provider)
            model_id = getattr(result, "model_id", None)
            if isinstance(model_id, str):
                span.set_attribute("gen_ai.response.model", model_id.split("/", 1)[-1])
            for attribute, key in (("gen_ai.usage.input_tokens", "prompt_tokens"),
                                   ("gen_ai.usage.output_tokens", "completion_tokens")):
                count = getattr(usage, key, None)
                if isinstance(count, int):
                    span.set_attribute(attribute, count)
        span.end()

    def on_node_error(self, event: NodeEvent) -> None:
        finished = self._finish(event)
        if finished is None:
            return
        span = finished[0]
        if event.error is not None:
            self._failed(span, event.error)
            span.set_attribute("error.type", type(event.error).__qualname__)
        span.end()

    def _failed(self, span: Any, error: BaseException) -> None:
        """Mark ``span`` failed with ``error``: its message and traceback too, unless the
        call keeps no values (``redacting()``): they may quote argument values."""
        if redacting():
            span.add_event("exception", {"exception.type": type(error).__qualname__})
            span.set_status(self._status(self._codes.ERROR, type(error).__name__))
            return
        span.record_exception(error)
        span.set_status(self._status(self._codes.ERROR, f"{type(error).__name__}: {error}"))

    def _finish(self, event: NodeEvent) -> tuple[Any, bool] | None:
        """Pop the node's span and restore its body's context; ``(span, is_model)``."""
        with self._lock:
            entry = self._spans.pop((event.call, event.node), None)
        if entry is None:
            return None
        span, _, token, is_model = entry
        if event.context is not None:
            try:
                event.context.run(self._context.detach, token)
            except RuntimeError:
                # Already inside that context: a coroutine op's end is reported from a
                # done-callback that asyncio runs in the task's own context.
                self._context.detach(token)
        return span, is_model


def _model_of(name: str) -> str | None:
    """The model of a model-call op (``llm[gpt-4o]`` -> ``gpt-4o``), else ``None``."""
    if name.startswith("llm[") and name.endswith("]"):
        return name[4:-1]
    return None


_installed: OpenTelemetryHook | None = None
_install_lock = threading.Lock()


def instrument(tracer_provider: Any = None) -> OpenTelemetryHook:
    """Trace every jitted call and op of this process with OpenTelemetry.

    Calling it again replaces the previous registration.

    Args:
        tracer_provider: where spans go (default: the global tracer provider).

    Returns:
        The registered hook.

    Raises:
        XCSError: OpenTelemetry is not installed (``pip install 'ember-xcs[otel]'``).

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        ...     InMemorySpanExporter)
        >>> from ember.xcs import jit, op
        >>> exporter = InMemorySpanExporter()
        >>> provider = TracerProvider()
        >>> provider.add_span_processor(SimpleSpanProcessor(exporter))
        >>> hook = instrument(provider)
        >>> @op
        ... def inc(x):
        ...     return x + 1
        >>> jit(lambda x: [inc(x), inc(x)])(1)
        [2, 2]
        >>> sorted(span.name for span in exporter.get_finished_spans())
        ['xcs.call <lambda>', 'xcs.op inc', 'xcs.op inc']
        >>> uninstrument()
    """
    global _installed
    hook = OpenTelemetryHook(tracer_provider)
    with _install_lock:
        if _installed is not None:
            unregister_hook(_installed)
        register_hook(hook)
        _installed = hook
    return hook


def uninstrument() -> None:
    """Stop tracing (undo ``instrument()``)."""
    global _installed
    with _install_lock:
        if _installed is not None:
            unregister_hook(_installed)
            _installed = None
