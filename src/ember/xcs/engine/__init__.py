"""The engine (stage 2 in docs/architecture.md): runs the tasks a trace or a graph submits.

``state`` holds one run's tasks and their pure transitions, ``driver`` carries them
out (``threads`` for blocking bodies, ``loop`` for coroutine bodies, ``processes`` for
``executor="process"``; ``shipped`` for calls pickled to another process),
``strategies`` schedules explicit graphs and ``reference`` evaluates a graph node by
node, as the others are tested against.
"""
