"""End to end: the real CDK CLI against the local emulator, and the hard cap on a deployed stack."""
