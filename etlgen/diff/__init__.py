"""`etlgen diff`: what deploying a render would change, and what it would do to data."""
