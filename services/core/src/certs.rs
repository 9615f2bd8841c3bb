//! Certificate generation (rcgen): a CA, a server certificate whose SANs cover every
//! compose service name, localhost and 127.0.0.1, and a client certificate for mTLS.
//! Used by `make certs` (through `loadgen certs`) and by tests.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// Names the server certificate is valid for: the compose services and loopback.
pub const SERVER_NAMES: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "::1",
    "rest",
    "graphql",
    "grpc",
    "sse",
    "websocket",
    "binary",
    "loadgen",
    "dashboard",
];

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// PEM texts of a generated set.
pub struct CertSet {
    pub ca_cert: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

fn params(cn: &str, names: &[&str]) -> Result<CertificateParams, rcgen::Error> {
    let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "protolab");
    Ok(p)
}

/// Generates a fresh CA and the server and client certificates it signs.
pub fn generate() -> Result<CertSet, CertError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = params("protolab CA", &[])?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate()?;
    let mut server = params("protolab server", SERVER_NAMES)?;
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer)?;

    let client_key = KeyPair::generate()?;
    let mut client = params("protolab loadgen", &["loadgen"])?;
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client.signed_by(&client_key, &issuer)?;

    Ok(CertSet {
        ca_cert: ca_cert.pem(),
        server_cert: server_cert.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
    })
}

/// Writes ca.crt, server.crt, server.key, client.crt, client.key into `dir`.
pub fn write_to(dir: &Path) -> Result<(), CertError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| CertError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let set = generate()?;
    for (name, pem) in [
        ("ca.crt", &set.ca_cert),
        ("server.crt", &set.server_cert),
        ("server.key", &set.server_key),
        ("client.crt", &set.client_cert),
        ("client.key", &set.client_key),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, pem).map_err(io(&path))?;
    }
    Ok(())
}
