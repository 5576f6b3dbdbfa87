"""The local AWS emulator (moto) that ``sagefit deploy --target local`` and the tests deploy into.

Nothing in this package may be imported by code that talks to real AWS: it patches moto, an
in-memory fake of AWS, and exists only so templates can be exercised offline. ``server`` runs moto
with the extensions of ``moto_ext``; ``local_target`` starts, reuses and stops that server and
points the CDK CLI (:mod:`sagefit.cdk_cli`) at it.
"""
