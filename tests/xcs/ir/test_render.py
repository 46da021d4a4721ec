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


def test_every_name_is_bound_once() -> None:
    # Unnamed values skip the names of the user's later variables, and a name the user
    # bound twice (an input rebound by ``x = f(x)``) gets a suffix on the later binding.
    builder = GraphBuilder()
    x = builder.add_input("x")
    unnamed = builder.add(NodeKind.OP, "up", (x,), (), fn=None, location=None)
    b = builder.add(NodeKind.OP, "check", (unnamed.output,), (), fn=None, location=None,
                    output_name="a")
    again = builder.add(NodeKind.OP, "up", (b.output,), (), fn=None, location=None,
                        output_name="x")
    graph = builder.build({"a": b.output, "x": again.output})
    assert str(graph) == (
        "{ lambda x. let b = up(x); a = check(b); x_1 = up(a) in {'a': a, 'x': x_1} }"
    )


def test_recorded_intermediates_do_not_reuse_user_names() -> None:
    from ember.xcs import autograph, op, placeholder

    @op
    def up(s: str) -> str:
        return s.upper()

    with autograph() as g:
        a = up(placeholder("q"))
        b = up(a.lower())
        c = up(b) + "?"  # noqa: F841 - read back by name
    assert str(g) == (
        "{ lambda q.\n"
        "  let a = up(q)\n"
        "      d = a.lower\n"
        "      e = d()\n"
        "      b = up(e)\n"
        "      f = up(b)\n"
        "      c = f + '?'\n"
        "  in {'a': a, 'b': b, 'c': c} }"
    )
