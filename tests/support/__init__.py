"""Helpers the test folders share (no tests here): repository paths, the session's CDK app, the moto
replay of what moto's CloudFormation skips, and hard-cap notification events."""
