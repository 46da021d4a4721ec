"""``PreparedCall`` needs only what ``CallingProvider`` describes of its provider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from ember.models import InvalidParamsError, ProviderError, RetryPolicy, Usage
from ember.models.providers._call import CallingProvider, PreparedCall
from ember.models.providers.simulated import SimulatedProvider
from ember.models.response import Completion


class StandIn:
    """A provider as a PreparedCall sees it, without the ``Provider`` base class."""

    rate_limit = None
    retry = RetryPolicy()
    simulated = True

    def __init__(self) -> None:
        self.validated: list[tuple[str, dict[str, Any]]] = []

    def validate(self, model_id: str, params: Mapping[str, Any]) -> None:
        if "bad" in params:
            raise InvalidParamsError(f"{model_id}: no parameter 'bad'")
        self.validated.append((model_id, dict(params)))

    def failure_note(self, error: BaseException, params: Mapping[str, Any]) -> str | None:
        return "try a smaller prompt"


def test_a_call_reads_its_provider_only_through_the_protocol() -> None:
    provider: CallingProvider = StandIn()
    call = PreparedCall(provider, "stand", "m", "hi", {"temperature": 0.5})
    assert call.model_id == "stand/m" and provider.validated == [("stand/m", {"temperature": 0.5})]
    reply = call.finish(Completion("hello", Usage.of(2, 3)))
    assert reply == "hello" and reply.simulated and reply.provider == "stand"
    assert reply.usage.total_tokens == 5 and reply.latency_ms >= 0


def test_a_failed_attempt_gets_the_model_id_and_the_providers_note() -> None:
    call = PreparedCall(StandIn(), "stand", "m", "hi", {})
    error = ProviderError("the server hung up")
    call.failed(error)
    assert error.model_id == "stand/m" and error.__notes__ == ["stand/m: try a smaller prompt"]


def test_bad_params_and_a_bad_reply_are_refused() -> None:
    with pytest.raises(InvalidParamsError, match="no parameter 'bad'"):
        PreparedCall(StandIn(), "stand", "m", "hi", {"bad": 1})
    with pytest.raises(ProviderError, match="StandIn.send returned"):
        PreparedCall(StandIn(), "stand", "m", "hi", {}).finish("not a completion")


def test_the_provider_base_class_satisfies_the_protocol() -> None:
    provider: CallingProvider = SimulatedProvider()
    assert PreparedCall(provider, "simulated", "demo", "hi", {}).model_id == "simulated/demo"
