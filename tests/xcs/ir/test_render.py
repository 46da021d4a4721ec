from __future__ import annotations

from ember.xcs.ir import GraphBuilder, NodeKind
from ember.xcs.ir.render import render_dot, render_mermaid, render_text


def small_graph() -> object:
    builder = GraphBuilder("ensemble")
    q = builder.add_input("q")
    a = builder.add(NodeKind.OP, "llm[gpt-4o]", (q,), (), fn=None, location=None)
    b = builder.add(NodeKind.OP, "llm[claude]", (q,), (), fn=None, location=None)
    c = builder.add(NodeKind.OP, "judge", (a.output, b.output), (), fn=None, location=None)
    return builder.build(c.output)


def test_text_is_a_jaxpr_like_one_liner() -> None:
    assert str(small_graph()) == (
        "{ lambda q. let a = llm[gpt-4o](q); b = llm[claude](q); c = judge(a, b) in c }"
    )


def test_long_graphs_print_one_binding_per_line() -> None:
    builder = GraphBuilder("wide")
    text = builder.add_input("text")
    outs = [builder.add(NodeKind.OP, "summarise", (text, i), (), fn=None, location=None).output
            for i in range(4)]
    get = builder.add(NodeKind.LIFTED, "getitem", (outs[0], "answer"), (), fn=None, location=None)
    attr = builder.add(NodeKind.LIFTED, "getattr", (outs[1], "text"), (), fn=None, location=None)
    add = builder.add(NodeKind.LIFTED, "add", (get.output, 1), (), fn=None, location=None)
    builder.add(NodeKind.BARRIER, "bool", (add.output,), (), fn=None, location=None)
    graph = builder.build([get.output, attr.output])
    assert str(graph) == (
        "{ lambda text.\n"
        "  let a = summarise(text, 0)\n"
        "      b = summarise(text, 1)\n"
        "      c = summarise(text, 2)\n"
        "      d = summarise(text, 3)\n"
        "      e = a['answer']\n"
        "      f = b.text\n"
        "      g = e + 1\n"
        "      _ = bool(g)\n"
        "  in [e, f] }"
    )


def test_literals_are_shortened_and_can_be_redacted() -> None:
    builder = GraphBuilder()
    builder.add(NodeKind.OP, "llm", ("x" * 100,), (("temperature", 0.5),), fn=None,
                location=None)
    graph = builder.build()
    assert "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'" in render_text(graph)  # the quote is kept
    assert render_text(graph, redact=True) == (
        "{ lambda . let a = llm(<str>, temperature=<float>) in () }"
    )


def test_dot_and_mermaid_exports() -> None:
    graph = small_graph()
    dot = render_dot(graph)  # type: ignore[arg-type]
    assert dot.startswith('digraph "ensemble" {') and "n0 -> n2;" in dot and "v0 -> n0;" in dot
    assert graph.to_dot() == dot  # type: ignore[attr-defined]
    mermaid = render_mermaid(graph)  # type: ignore[arg-type]
    assert mermaid.splitlines()[0] == "flowchart TD"
    assert "n1 --> n2" in mermaid and 'n2["c = judge(a, b)"]' in mermaid
