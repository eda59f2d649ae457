"""Tests of the Lambda handlers."""
