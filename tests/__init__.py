"""sagefit's test suite. A package, so the shared helpers import as ``tests.support.*`` from every folder."""
