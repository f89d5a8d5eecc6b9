"""ShareHub's demo, test and bench tooling: not the product.

The demo (``python -m devkit demo``), the department simulators on this machine or a compose
server (``python -m devkit simulate ...``), the stack with its simulators (``python -m devkit up``),
running a DAG in-process (:mod:`devkit.dagrun`) and the static compose check
(:mod:`devkit.compose_check`). It may import the product (``hub``, ``connectors``, ...) and
``simulators``; the product imports nothing from here.
"""
