"""The column kinds of the row schema and the vectorized kernels they are built from.

`registry.KINDS` is the table of kinds (string, date, date-time, integer, number,
boolean); `handlers.row_validator` compiles each schema property through it and
`handlers.row_schema_keywords` derives from it which types, formats and keywords a row
schema may use. See docs/architecture.md, "How to extend".
"""
