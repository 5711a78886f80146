//! The server's certificates pass strict verifiers: OpenSSL's `-x509_strict` and Python's
//! `ssl` with `VERIFY_X509_STRICT` (the default from Python 3.13, which `requests`, `httpx`
//! and MDE client libraries use). Both check, among other things, that the leaf names its CA's
//! key (Authority Key Identifier). And TLS offers HTTP/2 by ALPN, beside HTTP/1.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::process::Command;

/// Starts a TLS server on loopback with a fresh CA; its URL's port and the CA file.
async fn tls_server(dir: &std::path::Path) -> (netward_server::RunningServer, u16, String) {
    let server = netward_testkit::in_process::start(dir, |c| c.plain_http = false).await;
    let ca = server.ca.clone().expect("a TLS server has a CA").0;
    let port = server.addr.port();
    (server, port, ca.display().to_string())
}

#[tokio::test]
async fn python_with_verify_x509_strict_accepts_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port, ca) = tls_server(dir.path()).await;
    let script = r#"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        print(tls.version())
"#;
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-c", script, &ca, &port.to_string()])
            .output()
            .expect("run python3")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "python refused the certificate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("TLSv1."));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn openssl_strict_verification_accepts_the_chain_and_sees_key_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port, ca) = tls_server(dir.path()).await;
    let leaf = dir.path().join("leaf.pem");
    let leaf_path = leaf.display().to_string();
    let ca2 = ca.clone();
    let (verify, text) = tokio::task::spawn_blocking(move || {
        // The leaf as the server presents it.
        let shown = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-servername",
                "localhost",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run openssl s_client");
        let pem = String::from_utf8_lossy(&shown.stdout);
        let start = pem
            .find("-----BEGIN CERTIFICATE-----")
            .expect("a certificate");
        let end = pem.find("-----END CERTIFICATE-----").expect("its end") + 25;
        std::fs::write(&leaf_path, &pem[start..end]).unwrap();
        let verify = Command::new("openssl")
            .args([
                "verify",
                "-x509_strict",
                "-purpose",
                "sslserver",
                "-CAfile",
                &ca2,
                &leaf_path,
            ])
            .output()
            .expect("run openssl verify");
        let text = Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in", &leaf_path])
            .output()
            .expect("run openssl x509");
        (verify, String::from_utf8_lossy(&text.stdout).into_owned())
    })
    .await
    .unwrap();
    assert!(
        verify.status.success(),
        "openssl -x509_strict refused the chain: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    for extension in [
        "X509v3 Authority Key Identifier",
        "X509v3 Subject Key Identifier",
        "CA:FALSE",
        "TLS Web Server Authentication",
    ] {
        assert!(
            text.contains(extension),
            "the leaf lacks {extension}: {text}"
        );
    }
    let ca_text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in", &ca])
        .output()
        .unwrap();
    let ca_text = String::from_utf8_lossy(&ca_text.stdout);
    assert!(
        ca_text.contains("X509v3 Subject Key Identifier"),
        "{ca_text}"
    );
    assert!(ca_text.contains("Certificate Sign, CRL Sign"), "{ca_text}");
    server.stop().await.unwrap();
}

/// A rustls client that trusts `ca` and offers `protocols` by ALPN.
fn client_offering(ca: &str, protocols: &[&[u8]]) -> reqwest::Client {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap()
}

#[tokio::test]
async fn tls_offers_http2_by_alpn_and_carries_many_live_streams_on_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _, ca) = tls_server(dir.path()).await;
    let token = server.bootstrap_token.clone().unwrap();
    let url = server.url.clone();

    // A client offering both, as browsers do, gets HTTP/2.
    let both = client_offering(&ca, &[b"h2", b"http/1.1"]);
    // More live streams than a browser's six HTTP/1.1 connections per host, all open at once,
    // and an ordinary request still answered beside them.
    let mut streams = Vec::new();
    for _ in 0..8 {
        let r = both
            .get(format!("{url}/api/alerts/stream"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        assert_eq!(r.version(), reqwest::Version::HTTP_2);
        streams.push(r);
    }
    let machines = |client: reqwest::Client| {
        let request = client
            .get(format!("{url}/api/machines"))
            .bearer_auth(&token);
        async move {
            let r = request.send().await.unwrap();
            (r.status(), r.version())
        }
    };
    assert_eq!(
        machines(both.clone()).await,
        (reqwest::StatusCode::OK, reqwest::Version::HTTP_2)
    );

    // A client that offers only HTTP/1.1 still gets it.
    let old = client_offering(&ca, &[b"http/1.1"]);
    assert_eq!(
        machines(old).await,
        (reqwest::StatusCode::OK, reqwest::Version::HTTP_11)
    );
    drop(streams);
    server.stop().await.unwrap();
}
