"""The local AWS emulator (moto) that ``sagefit deploy --target local`` and the tests deploy into.

Nothing in this package may be imported by code that talks to real AWS: it patches moto, an
in-memory fake of AWS, and exists only so templates can be exercised offline.
"""
