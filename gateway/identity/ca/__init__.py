"""The consortium certificate authority operated by the bureau: init, issue, revoke."""

from gateway.identity.ca.authority import CertificateAuthority, IssuedIdentity

__all__ = ["CertificateAuthority", "IssuedIdentity"]
