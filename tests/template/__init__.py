"""Tests of the CloudFormation template builders."""
