"""``Operator``: a composable unit of a compound AI program.

An Operator's ``forward`` is ordinary code. Called under ``@jit`` a non-leaf Operator
runs its ``forward`` inline, so the ops inside it are traced and run concurrently (like
a non-leaf module in torch.fx). An Operator with ``leaf = True`` is scheduled as one
op instead: its ``forward`` runs on the engine as a single node.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from ember.xcs.ops import Op

if TYPE_CHECKING:
    from ember.operators.blocks import Chain

__all__ = ["Operator", "takes_inputs_keyword"]


class Operator:
    """Base class for operators.

    Subclasses define ``forward`` in either style:

    - keyword style from the seeds: ``def forward(self, *, inputs): ...``, called as
      ``operator(inputs={...})``;
    - positional style: ``def forward(self, question): ...``, called as
      ``operator("...")``.

    ``a >> b`` composes operators (and plain callables) into a ``Chain``.

    Class attributes:
        leaf: schedule the whole ``forward`` as one op under ``@jit``.
        max_concurrency: with ``leaf``, cap concurrent runs of this operator class.

    Example:
        >>> class Upper(Operator):
        ...     def forward(self, *, inputs):
        ...         return {"text": inputs["text"].upper()}
        >>> Upper()(inputs={"text": "hi"})
        {'text': 'HI'}
    """

    leaf: ClassVar[bool] = False
    max_concurrency: ClassVar[int | None] = None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute this operator's output. Subclasses must override it."""
        raise NotImplementedError(
            f"{type(self).__name__} must define forward(self, *, inputs) or forward(self, ...)."
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if type(self).leaf:
            return self.as_op()(*args, **kwargs)
        return self.forward(*args, **kwargs)

    def as_op(self) -> Op:
        """This operator's ``forward`` as one op (what ``leaf = True`` schedules)."""
        cls = type(self)
        return Op(
            self.forward,
            name=cls.__name__,
            max_concurrency=cls.max_concurrency,
            limit_key=cls if cls.max_concurrency is not None else None,
            identity=(cls, id(self)),
        )

    def __rshift__(self, other: Callable[..., Any]) -> Chain:
        from ember.operators.blocks import Chain

        return Chain(self, other)

    def __rrshift__(self, other: Callable[..., Any]) -> Chain:
        from ember.operators.blocks import Chain

        return Chain(other, self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


_KEYWORD_STYLE: dict[type[Operator], bool] = {}


def takes_inputs_keyword(cls: type[Operator]) -> bool:
    """Whether ``cls.forward`` uses the keyword style ``forward(self, *, inputs)``.

    Example:
        >>> class Keyword(Operator):
        ...     def forward(self, *, inputs):
        ...         return inputs
        >>> takes_inputs_keyword(Keyword)
        True
    """
    known = _KEYWORD_STYLE.get(cls)
    if known is not None:
        return known
    parameters = list(inspect.signature(cls.forward).parameters.values())[1:]
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    keyword_style = not positional and any(
        p.name == "inputs" and p.kind is p.KEYWORD_ONLY for p in parameters
    )
    # A plain dict is enough: a racing thread computes the same value.
    _KEYWORD_STYLE[cls] = keyword_style
    return keyword_style
