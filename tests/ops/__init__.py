"""The boto3 operations and the hard-cap function against moto (or botocore's Stubber), in-process."""
