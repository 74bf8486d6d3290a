//! TLS client configuration for SSL_GET.
//!
//! keepalived never calls `SSL_CTX_set_verify`, so OpenSSL's client default `SSL_VERIFY_NONE`
//! applies: the server certificate is not verified (even with an `ssl { ca ... }` block). We do
//! the same: any certificate chain is accepted, but the handshake signatures are still checked
//! (the peer must own the key of the certificate it presents), and the handshake must complete
//! — a non-TLS or broken TLS server fails the check. The global `SSL { }` block's client
//! certificate is presented to servers that ask for one ([`client_config`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
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
        unparsable_is_fine(verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        unparsable_is_fine(verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        ))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The handshake signature is checked with the certificate's key when webpki can parse the
/// certificate; one it cannot parse (an X.509 v1 certificate, as `openssl x509 -req` makes by
/// default) is accepted as OpenSSL without verification accepts it.
fn unparsable_is_fine(
    r: Result<HandshakeSignatureValid, rustls::Error>,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    match r {
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::BadEncoding | rustls::CertificateError::Other(_),
        )) => Ok(HandshakeSignatureValid::assertion()),
        other => other,
    }
}

/// A client configuration that accepts any server certificate (keepalived's behaviour),
/// TLS 1.2 and 1.3, ring provider, no client certificate.
pub fn insecure_client_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    client_config(&SslFiles::default())
}

/// keepalived's global `SSL { }` block: the files SSL_GET's TLS context is built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslFiles {
    /// `certificate`: the client certificate chain (PEM, leaf first).
    pub certificate: Option<PathBuf>,
    /// `key`: the client certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
    /// `ca`: CA certificates (PEM). keepalived loads them into OpenSSL's verify store but never
    /// asks OpenSSL to verify the server; they are loaded (and must be readable) here too.
    pub ca: Option<PathBuf>,
    /// `password`: the passphrase of an encrypted `key` (encrypted PKCS#8).
    pub password: Option<String>,
}

fn read_pem_certs(what: &str, p: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_file_iter(p)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Error::Tls(format!("SSL {what} {}: {e}", p.display())))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!(
            "SSL {what} {}: no PEM certificate in it",
            p.display()
        )));
    }
    Ok(certs)
}

/// The TLS client configuration of an `SSL { }` block (keepalived's `build_ssl_ctx`): any
/// server certificate accepted (keepalived sets no verification), the client certificate of
/// `certificate` + `key` presented when the server asks for one. Like keepalived, an unreadable
/// certificate, key or CA file is an error (keepalived's checker process then exits).
/// An encrypted PKCS#8 key is decrypted with `password` (see [`encrypted_pkcs8`] for the
/// schemes; OpenSSL's traditional encrypted PEM is refused with a message). Differences:
/// intermediates of the client certificate must be
/// in the `certificate` file (OpenSSL would also complete the chain from `ca`).
pub fn client_config(files: &SslFiles) -> Result<Arc<rustls::ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)));
    if let Some(ca) = &files.ca {
        read_pem_certs("ca", ca)?;
    }
    let chain = match &files.certificate {
        Some(c) => Some(read_pem_certs("certificate", c)?),
        None => None,
    };
    let key = match &files.key {
        Some(k) => {
            let text = std::fs::read(k)
                .map_err(|e| Error::Tls(format!("SSL key {}: {e}", k.display())))?;
            if let Some(der) = encrypted_pkcs8(&text, files.password.as_deref())
                .map_err(|e| Error::Tls(format!("SSL key {}: {e}", k.display())))?
            {
                Some(PrivateKeyDer::Pkcs8(der.into()))
            } else {
                Some(
                    PrivateKeyDer::from_pem_slice(&text)
                        .map_err(|e| Error::Tls(format!("SSL key {}: {e}", k.display())))?,
                )
            }
        }
        None => None,
    };
    let cfg = match (chain, key) {
        (Some(chain), Some(key)) => {
            let signing = provider_keys()
                .load_private_key(key)
                .map_err(|e| Error::Tls(format!("SSL key: {e}")))?;
            // OpenSSL's check that the key is the certificate's ("key values mismatch"), done
            // on the bytes so X.509 v1 certificates (which OpenSSL takes and webpki refuses)
            // work too: the key's SubjectPublicKeyInfo is inside the certificate.
            if let (Some(spki), Some(leaf)) = (signing.public_key(), chain.first()) {
                let spki: &[u8] = spki.as_ref();
                if !leaf.as_ref().windows(spki.len()).any(|w| w == spki) {
                    return Err(Error::Tls(
                        "SSL certificate and key: the key is not the certificate's".into(),
                    ));
                }
            }
            let ck = Arc::new(rustls::sign::CertifiedKey::new(chain, signing));
            builder.with_client_cert_resolver(Arc::new(ClientCert(ck)))
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

/// The `ENCRYPTED PRIVATE KEY` (PKCS#8, RFC 5958) block of a key file decrypted with the `SSL`
/// block's `password` (OpenSSL's PEM password callback in keepalived): PBES2 with PBKDF2
/// (HMAC-SHA1/SHA-224/256/384/512) or scrypt, and AES-128/192/256-CBC, DES-CBC or 3DES-CBC,
/// which covers what OpenSSL writes (`openssl pkey -aes256`, `openssl genpkey -aes-256-cbc`,
/// `openssl pkcs8 -topk8 -v2 ...`). `Ok(None)`: the key is not encrypted. Not supported (an
/// error naming the format): OpenSSL's traditional encrypted PEM (`Proc-Type: 4,ENCRYPTED`
/// with `DEK-Info`, from `openssl genrsa -aes256` in OpenSSL 1.x or `-traditional`) and the
/// PKCS#5 v1.5/PKCS#12 PBES1 schemes (`openssl pkcs8 -topk8 -v1 ...`).
fn encrypted_pkcs8(text: &[u8], password: Option<&str>) -> Result<Option<Vec<u8>>, String> {
    let text = String::from_utf8_lossy(text);
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(
            "OpenSSL's traditional encrypted PEM (Proc-Type/DEK-Info) is not supported; \
                    convert it to encrypted PKCS#8 (openssl pkcs8 -topk8 -v2 aes-256-cbc)"
                .into(),
        );
    }
    const BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
    const END: &str = "-----END ENCRYPTED PRIVATE KEY-----";
    let Some(start) = text.find(BEGIN) else {
        return Ok(None);
    };
    let Some(end) = text[start..].find(END).map(|e| start + e + END.len()) else {
        return Err("ENCRYPTED PRIVATE KEY block without its end line".into());
    };
    let Some(password) = password else {
        return Err("the key is encrypted and the SSL block has no password".into());
    };
    let (_, doc) = pkcs8::der::Document::from_pem(&text[start..end])
        .map_err(|e| format!("ENCRYPTED PRIVATE KEY: {e}"))?;
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes())
        .map_err(|e| format!("ENCRYPTED PRIVATE KEY: {e}"))?;
    let plain = info.decrypt(password).map_err(|e| {
        format!("cannot decrypt the key with the password (wrong password or scheme): {e}")
    })?;
    Ok(Some(plain.as_bytes().to_vec()))
}

fn provider_keys() -> &'static dyn rustls::crypto::KeyProvider {
    rustls::crypto::ring::default_provider().key_provider
}

/// The `SSL { }` block's client certificate, sent whenever the server asks for one (OpenSSL
/// sends its configured certificate whatever CA names the server hints).
#[derive(Debug)]
struct ClientCert(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
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
