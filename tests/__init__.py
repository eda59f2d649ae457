"""Tests of the etlgen project."""
