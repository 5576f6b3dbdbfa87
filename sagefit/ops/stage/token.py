"""The Hugging Face token a staging run downloads with, and where it came from.

``HF_TOKEN`` in the environment wins (a developer's own token, read the way huggingface_hub reads
it); otherwise the profile's ``model.hf_token_secret`` is read from Secrets Manager, the same secret
the endpoint's container gets, so staging needs no second copy of the token. A token that
``hf auth login`` saved on disk is not used: the run says which token it used, and a file in a home
folder is not something the profile names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sagefit.core.errors import SagefitError
from sagefit.core.profiles import ModelSpec
from sagefit.ops.aws import AwsSession, aws_errors, error_code


@dataclass(frozen=True)
class HubToken:
    value: str | None
    source: str
    """For the summary: ``HF_TOKEN``, ``secret NAME`` or ``none``."""


def hub_token(model: ModelSpec, aws: AwsSession | None) -> HubToken:
    """The token to download ``model`` with (None when neither source has one).

    ``aws`` is needed only to read the profile's secret; None (``--dry-run`` without AWS) skips it.
    """
    env = os.environ.get("HF_TOKEN", "").strip()
    if env:
        return HubToken(env, "HF_TOKEN")
    name = model.hf_token_secret
    if not name or aws is None:
        return HubToken(None, "none")
    from botocore.exceptions import ClientError

    action = f"reading the Hub token from Secrets Manager secret {name!r}"
    try:
        with aws_errors(action):
            secret = aws.client("secretsmanager").get_secret_value(SecretId=name)
    except ClientError as exc:  # what aws_errors passes on: the secret's own problems
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            raise SagefitError(
                f"no Secrets Manager secret {name!r} in {aws.region}",
                "create it with the Hub token, or set HF_TOKEN",
                field="model.hf_token_secret",
            ) from None
        raise SagefitError(f"{action}: {code}", "allow secretsmanager:GetSecretValue on it, or set HF_TOKEN") from None
    value = str(secret.get("SecretString") or "").strip()
    if not value:
        raise SagefitError(
            f"Secrets Manager secret {name!r} has no text value", "store the Hub token as the secret's string"
        )
    return HubToken(value, f"secret {name}")
