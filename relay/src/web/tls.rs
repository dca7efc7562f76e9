//! The relay's TLS certificate: read from PEM files the operator names (`--tls-cert`,
//! `--tls-key`), for HTTPS (`--https`) and for TURN over TLS (`turns:`, which lets browsers in
//! networks that allow only HTTPS out reach the relay), and read again when the files change.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, PoisonError, RwLock},
};

use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
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

/// The certificate and key files as last read: their modification times and lengths.
type Stamp = [(std::time::SystemTime, u64); 2];

fn stamp(cert: &Path, key: &Path) -> Option<Stamp> {
    let one = |p: &Path| {
        let meta = std::fs::metadata(p).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    };
    Some([one(cert)?, one(key)?])
}

/// Reads and checks a PEM certificate chain (leaf first) and its PEM private key.
fn read_pair(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
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
    Ok(CertifiedKey::from_der(chain, key, &provider())?)
}

fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The relay's certificate, read again when its files change ([`Certificates::reload_if_changed`],
/// which the relay calls every few seconds and on SIGHUP). Handshakes use whatever is current,
/// so a renewed certificate (certbot, an ACME client) is used from the next connection on,
/// without a restart. A new pair that does not load or match leaves the old one in use.
#[derive(Debug)]
pub struct Certificates {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<(Option<Stamp>, Arc<CertifiedKey>)>,
}

impl Certificates {
    /// Reads the pair, or says why it cannot be used.
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<Self>, TlsError> {
        let stamp = stamp(cert, key);
        let pair = read_pair(cert, key)?;
        Ok(Arc::new(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new((stamp, Arc::new(pair))),
        }))
    }

    /// Reads the files again if they changed since last read (or if `force`): `Ok(true)` when a
    /// new pair is now in use, `Err` (and the old pair kept) when the new one is unusable.
    pub fn reload_if_changed(&self, force: bool) -> Result<bool, TlsError> {
        let now = stamp(&self.cert, &self.key);
        let seen = self.current.read().unwrap_or_else(PoisonError::into_inner).0;
        if !force && now == seen {
            return Ok(false);
        }
        let result = read_pair(&self.cert, &self.key);
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        // Unusable or not, this version of the files has been looked at.
        current.0 = now;
        current.1 = Arc::new(result?);
        Ok(true)
    }

    /// A TLS server configuration that always presents the current pair, speaking `protocols`
    /// by ALPN (none for TURN).
    pub fn server_config(
        self: &Arc<Self>,
        protocols: &[&[u8]],
    ) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner).1))
    }
}

/// A TLS server configuration from a PEM certificate chain (leaf first) and a PEM private key,
/// checked once (no reloading).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    Certificates::load(cert, key)?.server_config(&[])
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
