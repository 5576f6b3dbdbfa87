"""Unit tests of the pure core and the cost simulator: no AWS, no CDK, no emulator."""
