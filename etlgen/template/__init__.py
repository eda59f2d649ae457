"""Builders of the CloudFormation template, one module per concern."""
