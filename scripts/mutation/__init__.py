"""Mutation testing of the modules that guard safety (`make mutation`; docs/testing.md).

`mutants` makes the mutants of a module from its syntax tree, `coverage_map` finds which tests run each
line, `execute` runs pytest in a copy of the project, `runner` puts these together, `report` prints the
score per module and the survivors. The modules scored are listed in `modules`.
"""
