"""RSA key pairs for GitHub Apps: the private half signs the App's JWTs, the public half is what
the fake forge verifies them with (`FakeForge.register_app`)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class AppKey:
    private_pem: str
    public_pem: bytes

    @classmethod
    def generate(cls, *, pkcs1: bool = False) -> AppKey:
        """A fresh 2048-bit pair; `pkcs1` writes the private key as GitHub hands it out
        ("BEGIN RSA PRIVATE KEY"), else as PKCS#8."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        layout = (
            serialization.PrivateFormat.TraditionalOpenSSL
            if pkcs1
            else serialization.PrivateFormat.PKCS8
        )
        private = key.private_bytes(
            serialization.Encoding.PEM, layout, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(private.decode(), public)
