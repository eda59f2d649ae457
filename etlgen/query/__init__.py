"""`etlgen query`: SQL over the pipeline's table and its rejected rows, with DuckDB over the
local run's committed partitions (`local`) or through the stack's Athena workgroup
(`athena`), printed the same way (`results`)."""
