"""The queryable table: its columns and partition keys (`tables`), the Glue types of the
row schema's columns (`columns`), and what a row-schema change does to it (`evolution`).

Pure and free of troposphere, so the config checks, the template and `etlgen validate` /
`etlgen diff` share one description of the table.
"""
