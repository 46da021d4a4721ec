"""Analysis: pure functions over a ``Graph`` (levels, groups, critical path, reports).

``dependencies`` says which ops each node waits for (``levels``,
``parallel_groups``), ``paths`` finds the ``critical_path``, and ``report`` gathers
the structural facts into one cached ``Analysis`` (``analyze``). ``operations``,
``references`` and ``marks`` answer pyember's question of what kind of work a
callable does (``analyze_operations_v2``, re-exported by ``ember.xcs``).
"""

from ember.xcs.analysis.dependencies import levels, parallel_groups
from ember.xcs.analysis.paths import critical_path
from ember.xcs.analysis.report import Analysis, analyze

__all__ = ["Analysis", "analyze", "critical_path", "levels", "parallel_groups"]
