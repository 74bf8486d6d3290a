//! TLS client configuration for SSL_GET.
//!
//! keepalived never calls `SSL_CTX_set_verify`, so OpenSSL's client default `SSL_VERIFY_NONE`
//! applies: the server certificate is not verified (even with an `ssl { ca ... }` block). We do
//! the same: any certificate chain is accepted, but the handshake signatures are still checked
//! (the peer must own the key of the certificate it presents), and the handshake must complete
//! — a non-TLS or broken TLS server fails the check.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::Error;

#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client configuration that accepts any server certificate (keepalived's behaviour),
/// TLS 1.2 and 1.3, ring provider, no client certificate.
pub fn insecure_client_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// The server name used for the handshake: a DNS name sends SNI; without SNI (or with a name
/// that is not a valid DNS name) the peer's IP address is used, which sends no SNI.
pub(crate) fn server_name(sni: Option<&str>, ip: std::net::IpAddr) -> ServerName<'static> {
    if let Some(name) = sni {
        if let Ok(n) = ServerName::try_from(name.to_string()) {
            if matches!(n, ServerName::DnsName(_)) {
                return n;
            }
        }
    }
    ServerName::IpAddress(ip.into())
}
