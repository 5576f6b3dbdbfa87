"""`sagefit stage`: copy a model's files from the Hugging Face Hub into S3, once, at a pinned commit.

A cold start that downloads the weights from the Hub needs internet egress and spends minutes on the
download; staged in S3 (uncompressed, one object per repository file), the weights reach the
instance as an S3 data source the engine reads from local disk. Each module has one job:

- :mod:`~sagefit.ops.stage.location`: the ``s3://bucket/prefix/`` destination, its keys and the manifest key
- :mod:`~sagefit.ops.stage.selection`: which of the repository's files the engine needs
- :mod:`~sagefit.ops.stage.checksums`: SHA-256 and git blob ids of local files, the multipart part layout
- :mod:`~sagefit.ops.stage.hub`: the huggingface_hub adapter (revision pinning, listing, download)
- :mod:`~sagefit.ops.stage.token`: the Hub token, from ``HF_TOKEN`` or the profile's secret
- :mod:`~sagefit.ops.stage.upload`: KMS-encrypted, checksummed, resumable multipart upload of one file
- :mod:`~sagefit.ops.stage.manifest`: the record of what was staged, beside the prefix
- :mod:`~sagefit.ops.stage.run`: the whole staging run, in the order that keeps it safe to interrupt
"""
