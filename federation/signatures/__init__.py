"""HTTP message signatures: body digests, draft-cavage here, RFC 9421 in ``rfc9421``."""

from __future__ import annotations

from federation.signatures.cavage import (
    SignatureParams,
    parse_authorization_header,
    parse_signature_header,
    sign_request,
    signature_params_from_headers,
    signing_string,
    verify_request,
)
from federation.signatures.digest import (
    content_digest_header,
    digest_header,
    verify_content_digest,
    verify_digest,
)

__all__ = [
    "SignatureParams",
    "content_digest_header",
    "digest_header",
    "parse_authorization_header",
    "parse_signature_header",
    "sign_request",
    "signature_params_from_headers",
    "signing_string",
    "verify_content_digest",
    "verify_digest",
    "verify_request",
]
