"""Save a graph as a file: Graphviz images (``.svg``, ``.png``, ``.pdf``) or text.

Images need the Graphviz ``dot`` program (``apt-get install graphviz``,
``brew install graphviz``); ``.dot`` and ``.mmd`` files are written without it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ember.xcs.errors import XCSError
from ember.xcs.ir.render import RenderableGraph, render_dot, render_mermaid

__all__ = ["IMAGE_FORMATS", "save_graph"]

IMAGE_FORMATS = ("svg", "png", "pdf")
_DOT_TIMEOUT = 60.0


def save_graph(
    graph: RenderableGraph, path: str | os.PathLike[str], *, redact: bool = False
) -> Path:
    """Write ``graph`` to ``path``; the format follows the file's extension.

    Args:
        graph: the graph.
        path: ``*.svg``, ``*.png`` or ``*.pdf`` (rendered by Graphviz), ``*.dot``
            (DOT text) or ``*.mmd`` (Mermaid text).
        redact: print literals as their type only.

    Returns:
        The path written.

    Raises:
        XCSError: an unsupported extension, Graphviz ``dot`` is not installed, or
            ``dot`` failed (its message is included).

    Example:
        >>> import tempfile
        >>> from ember.xcs.ir import Graph
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     save_graph(Graph(nodes=()), f"{folder}/g.dot").read_text().startswith("digraph")
        True
    """
    target = Path(path)
    extension = target.suffix.lower().lstrip(".")
    if extension == "dot":
        target.write_text(render_dot(graph, redact) + "\n", encoding="utf-8")
        return target
    if extension == "mmd":
        target.write_text(render_mermaid(graph, redact) + "\n", encoding="utf-8")
        return target
    if extension not in IMAGE_FORMATS:
        raise XCSError(
            f"cannot save a graph as {target.name!r}: use one of "
            f"{', '.join('.' + e for e in (*IMAGE_FORMATS, 'dot', 'mmd'))}."
        )
    # Both load much (bz2, lzma, signal...): only when an image is saved (import time).
    import shutil
    import subprocess

    dot = shutil.which("dot")
    if dot is None:
        raise XCSError(
            f"saving {target.name!r} needs Graphviz's `dot` program, which is not on PATH. "
            "Install Graphviz (apt-get install graphviz / brew install graphviz / "
            "conda install graphviz), or save as .dot or .mmd text instead."
        )
    result = subprocess.run(
        [dot, f"-T{extension}", "-o", str(target)], input=render_dot(graph, redact).encode(),
        capture_output=True, timeout=_DOT_TIMEOUT, check=False,
    )
    if result.returncode != 0:
        raise XCSError(
            f"Graphviz dot failed to write {target} (exit {result.returncode}): "
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    return target
