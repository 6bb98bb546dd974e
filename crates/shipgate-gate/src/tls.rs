//! HTTPS in the gate itself: `tls_cert` and `tls_key` in gate.toml.
//!
//! The certificate and key are held behind a resolver that every new TLS
//! handshake asks for the current pair, so a reload (SIGHUP) swaps the pair
//! for the connections that come after it while connections already open
//! keep the session they negotiated. A new pair that cannot be read, does
//! not parse, or whose key does not match the certificate is refused and the
//! old pair stays in service: a botched certificate renewal must not take
//! the gate off the network.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::private_files::{PrivateFileError, check_private_file};

/// Why a certificate/key pair could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The key file is readable by other users.
    #[error("tls_key: {0}")]
    KeyMode(#[from] PrivateFileError),
    /// A file could not be read or holds no usable PEM block.
    #[error("{what} {path}: {message}")]
    Pem {
        /// `tls_cert` or `tls_key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the key or the configuration.
    #[error("tls_key {path}: {message}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// rustls' message.
        message: String,
    },
    /// The key is not the certificate's key.
    #[error("tls_key {key} does not belong to the certificate in {cert}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

/// The certificate/key pair in service, replaceable while serving.
#[derive(Debug)]
pub struct CertStore {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertStore {
    /// Loads the pair for the first time.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<Self>, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let current = load_pair(&provider, cert_path, key_path)?;
        Ok(Arc::new(Self {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            provider,
            current: RwLock::new(current),
        }))
    }

    /// Re-reads the files; on any error the pair in service stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = load_pair(&self.provider, &self.cert_path, &self.key_path)?;
        let mut slot = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = fresh;
        Ok(())
    }

    fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The acceptor for the listener: TLS 1.2 and 1.3, HTTP/1.1 by ALPN.
    pub fn acceptor(self: &Arc<Self>) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Key {
                path: self.key_path.clone(),
                message: e.to_string(),
            })?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Resolver(self.clone())));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

#[derive(Debug)]
struct Resolver(Arc<CertStore>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current())
    }
}

fn load_pair(
    provider: &CryptoProvider,
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<CertifiedKey>, TlsError> {
    check_private_file(key_path, "tls_key")?;
    let pem_error = |what: &'static str, path: &Path, message: String| TlsError::Pem {
        what,
        path: path.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| pem_error("tls_cert", cert_path, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error("tls_cert", cert_path, e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_error(
            "tls_cert",
            cert_path,
            "no CERTIFICATE block".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| pem_error("tls_key", key_path, e.to_string()))?;
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::Key {
            path: key_path.to_owned(),
            message: e.to_string(),
        })?;
    let pair = CertifiedKey::new(certs, signing_key);
    if pair.keys_match().is_err() {
        return Err(TlsError::Mismatch {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
        });
    }
    Ok(Arc::new(pair))
}
