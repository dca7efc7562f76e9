//! The relay's TLS certificate: read from PEM files the operator names (`--tls-cert`,
//! `--tls-key`), for TURN over TLS (`turns:`), which lets browsers in networks that allow only
//! HTTPS out reach the relay.

use std::{path::Path, sync::Arc};

use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};

/// Why the certificate cannot be used, in words for the operator.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file cannot be read or holds no PEM certificate.
    #[error("cannot read a certificate from {path}: {reason}")]
    Certificate {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The key file cannot be read or holds no PEM private key.
    #[error("cannot read a private key from {path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The certificate and key do not belong together, or TLS refuses them.
    #[error("the certificate and key cannot be used together: {0}")]
    Rejected(#[from] rustls::Error),
}

/// A TLS server configuration from a PEM certificate chain (leaf first) and a PEM private key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| TlsError::Certificate {
            path: cert.display().to_string(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Certificate {
            path: cert.display().to_string(),
            reason: "no certificate in it".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::Key { path: key.display().to_string(), reason: e.to_string() })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tp-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_certificate_and_its_key_make_a_configuration() {
        let dir = scratch("good");
        let made = rcgen::generate_simple_self_signed(vec!["relay.example.org".into()]).unwrap();
        let cert = write(&dir, "cert.pem", &made.cert.pem());
        let key = write(&dir, "key.pem", &made.signing_key.serialize_pem());
        assert!(server_config(&cert, &key).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_files_empty_files_and_mismatched_keys_are_explained() {
        let dir = scratch("bad");
        let one = rcgen::generate_simple_self_signed(vec!["a.example.org".into()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["b.example.org".into()]).unwrap();
        let cert = write(&dir, "cert.pem", &one.cert.pem());
        let key = write(&dir, "key.pem", &one.signing_key.serialize_pem());
        let wrong_key = write(&dir, "other.pem", &other.signing_key.serialize_pem());
        let empty = write(&dir, "empty.pem", "");
        let missing = dir.join("missing.pem");

        let error = server_config(&missing, &key).unwrap_err().to_string();
        assert!(error.starts_with("cannot read a certificate from"), "{error}");
        let error = server_config(&empty, &key).unwrap_err().to_string();
        assert!(error.contains("no certificate in it"), "{error}");
        let error = server_config(&cert, &empty).unwrap_err().to_string();
        assert!(error.starts_with("cannot read a private key from"), "{error}");
        let error = server_config(&cert, &wrong_key).unwrap_err().to_string();
        assert!(error.starts_with("the certificate and key cannot be used together"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
