"""boto3 clients for the operations commands, and the translation of AWS failures into one line.

Clients retry throttled calls with botocore's ``adaptive`` retry mode (exponential backoff with
client-side rate limiting), so a burst of `sagefit status` calls rides out ThrottlingException
instead of failing. The same code path serves AWS and the local emulator: only the endpoint URL
(``AWS_ENDPOINT_URL``, honoured by boto3 itself) differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sagefit.core.errors import SagefitError
from sagefit.hardcap.action import error_code, not_found

__all__ = ["RETRIES", "AwsSession", "aws_errors", "error_code", "not_found"]

RETRIES = {"mode": "adaptive", "total_max_attempts": 8}

_CREDENTIAL_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
}


class AwsSession:
    """A boto3 session for one region; creates clients lazily with the shared retry settings."""

    def __init__(
        self,
        region: str,
        profile_name: str | None = None,
        endpoint_url: str | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        """``endpoint_url`` and ``credentials`` (key id, secret) point the session at the local
        emulator; without them boto3 finds AWS's endpoints and the caller's credentials."""
        import boto3
        from botocore.config import Config

        self.region = region
        self.endpoint_url = endpoint_url
        key_id, secret = credentials if credentials is not None else (None, None)
        self._session = boto3.session.Session(
            region_name=region,
            profile_name=profile_name,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )
        self._config = Config(retries=dict(RETRIES), connect_timeout=10, read_timeout=70)
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, config=self._config, endpoint_url=self.endpoint_url)
        return self._clients[service]

    def account(self) -> str:
        """The account these credentials act in (STS GetCallerIdentity, which needs no permission)."""
        with aws_errors(
            "checking credentials",
            "configure credentials (aws configure / AWS_PROFILE), or pass --target local to use the "
            "emulator kept by `make deploy STACK=... KEEP=1`",
        ):
            identity: dict[str, Any] = self.client("sts").get_caller_identity()
        return str(identity["Account"])


# ``error_code`` and ``not_found`` live in the hard cap's Lambda asset, which cannot import sagefit.ops;
# the operations use the same functions, so "no such resource" has one meaning everywhere.


NO_CREDENTIALS_FIX = "configure credentials (aws configure / AWS_PROFILE)"


@contextmanager
def aws_errors(action: str, no_credentials_fix: str = NO_CREDENTIALS_FIX) -> Iterator[None]:
    """Turn credential, network and throttling failures during ``action`` into a SagefitError.

    ``no_credentials_fix`` is the fix offered without credentials: only a command that accepts
    ``--target local`` may suggest it."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        TokenRetrievalError,
    )

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise SagefitError(f"{action}: no AWS credentials found", no_credentials_fix) from None
    except TokenRetrievalError:
        raise SagefitError(f"{action}: the SSO token has expired", "run `aws sso login`") from None
    except NoRegionError:
        raise SagefitError(f"{action}: no AWS region", "set region in the profile or AWS_DEFAULT_REGION") from None
    except EndpointConnectionError as exc:
        raise SagefitError(
            f"{action}: cannot reach {exc.kwargs.get('endpoint_url', 'AWS')}",
            "check the network, or start the local emulator",
        ) from None
    except ClientError as exc:
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if code in _CREDENTIAL_CODES:
            raise SagefitError(
                f"{action}: AWS rejected the credentials ({code})", "refresh them (aws sso login / new keys)"
            ) from None
        if code in ("ThrottlingException", "Throttling", "TooManyRequestsException"):
            raise SagefitError(
                f"{action}: AWS kept throttling after retries ({code})", "wait a minute and retry"
            ) from None
        if code in ("AccessDenied", "AccessDeniedException"):
            raise SagefitError(
                f"{action}: access denied ({message})", "grant the missing permission to your role"
            ) from None
        raise
