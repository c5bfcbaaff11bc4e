// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The TLS client of SSL_GET and `genhash -S`, on rustls.
//!
//! As keepalived 2.2.7 (`check_ssl.c`): any protocol version the library
//! offers (TLS 1.2 and 1.3 here), **no certificate verification** (the
//! server's certificate is accepted whatever it says; the handshake
//! signatures are still checked, as OpenSSL does), no session reuse, a
//! client certificate from the root `SSL { certificate key }` block when
//! there is one, and `SSL { ca }` loaded but never used for verification.
//!
//! What OpenSSL did and rustls cannot, reported as an error when the
//! configuration is read: private keys encrypted with `password`, and DSA
//! or other key types rustls does not sign with. Servers that only offer
//! legacy ciphers (RSA key exchange, CBC-SHA1 with TLS 1.0/1.1, RC4, 3DES)
//! fail their handshake at run time ("SSL handshake/communication error").

use std::path::Path;
use std::sync::Arc;

use keepalived_config::model::ssl::SslConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

/// Accepts any server certificate (keepalived verifies nothing).
#[derive(Debug)]
struct AcceptAnyCert {
    algorithms: WebPkiSupportedAlgorithms,
}

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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Builds the client configuration from the root `SSL` block (`None`:
/// keepalived's generated context, no client certificate).
pub fn client_config(ssl: Option<&SslConfig>) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AcceptAnyCert {
        algorithms: provider.signature_verification_algorithms,
    });
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider) as Arc<CryptoProvider>)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let ssl = ssl.filter(|s| !s.is_autogen());
    if let Some(ca) = ssl.and_then(|s| s.ca.as_deref()) {
        // keepalived refuses to start when the CA file cannot be loaded,
        // though it never verifies with it.
        let n = CertificateDer::pem_file_iter(ca)
            .map_err(|e| format!("SSL ca '{ca}': {e}"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("SSL ca '{ca}': {e}"))?
            .len();
        if n == 0 {
            return Err(format!("SSL ca '{ca}': no certificate in the file"));
        }
    }
    let cert = ssl.and_then(|s| s.certificate.as_deref());
    let key = ssl.and_then(|s| s.key.as_deref());
    let mut config = match (cert, key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), None) => {
            return Err(format!(
                "SSL certificate '{cert}' has no 'key': a client certificate needs its private key"
            ));
        }
        (None, Some(key)) => {
            return Err(format!(
                "SSL key '{key}' has no 'certificate' to go with it"
            ));
        }
        (Some(cert), Some(key)) => {
            let chain = read_chain(cert)?;
            let key_der = read_key(key)?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| format!("SSL certificate '{cert}' and key '{key}': {e}"))?
        }
    };
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

fn read_chain(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("SSL certificate '{path}': {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("SSL certificate '{path}': {e}"))?;
    if chain.is_empty() {
        return Err(format!(
            "SSL certificate '{path}': no certificate in the file"
        ));
    }
    Ok(chain)
}

fn read_key(path: &str) -> Result<PrivateKeyDer<'static>, String> {
    let text = std::fs::read(Path::new(path)).map_err(|e| format!("SSL key '{path}': {e}"))?;
    if text.windows(9).any(|w| w == b"ENCRYPTED") {
        return Err(format!(
            "SSL key '{path}' is encrypted: password-protected keys are not supported \
             (decrypt it, e.g. `openssl pkey -in {path} -out plain.pem`, and protect the file instead)"
        ));
    }
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| {
        format!("SSL key '{path}': no usable private key (PKCS#8, RSA or EC PEM expected): {e}")
    })
}
