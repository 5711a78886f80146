#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use std::sync::{Arc, Barrier};

use super::*;
use crate::store::PgStore;

fn names(host: &str) -> Vec<String> {
    vec![host.to_owned(), "127.0.0.1".to_owned()]
}

/// The fingerprint of the PEM certificate in `path`.
fn fingerprint_of(path: &Path) -> String {
    let pem = fs::read_to_string(path).unwrap();
    let der: CertificateDer<'static> =
        rustls_pki_types::pem::PemObject::from_pem_slice(pem.as_bytes()).unwrap();
    fingerprint(&der)
}

#[test]
fn replicas_starting_at_once_on_one_database_share_one_ca() {
    let cluster = netward_testkit::postgres::PgCluster::start();
    let url = cluster.create_database("shared_ca");
    let both = Arc::new(Barrier::new(2));
    let replicas: Vec<_> = ["a.example", "b.example"]
        .into_iter()
        .map(|host| {
            let (url, both) = (url.clone(), both.clone());
            std::thread::spawn(move || {
                let store = PgStore::open(&url).unwrap();
                let dir = tempfile::tempdir().unwrap();
                both.wait();
                let tls = load_or_create_shared(&store, dir.path(), &names(host)).unwrap();
                assert_eq!(tls.ca_path, dir.path().join("tls").join(SHARED_CA_FILE));
                assert_eq!(fingerprint_of(&tls.ca_path), tls.ca_fingerprint);
                assert!(!dir.path().join("tls").join("ca.key").exists());
                tls.ca_fingerprint
            })
        })
        .collect();
    let prints: Vec<String> = replicas.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(prints[0], prints[1], "the replicas made two CAs");
    // A replica started later, or restarted, signs with the same CA.
    let store = PgStore::open(&url).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let later = load_or_create_shared(&store, dir.path(), &names("c.example")).unwrap();
    assert_eq!(later.ca_fingerprint, prints[0]);
    let again = load_or_create_shared(&store, dir.path(), &names("c.example")).unwrap();
    assert_eq!(again.ca_fingerprint, prints[0]);
    // Another database has a CA of its own.
    let other = PgStore::open(&cluster.create_database("other_ca")).unwrap();
    let elsewhere = load_or_create_shared(&other, dir.path(), &names("c.example")).unwrap();
    assert_ne!(elsewhere.ca_fingerprint, prints[0]);
    assert_eq!(fingerprint_of(&elsewhere.ca_path), elsewhere.ca_fingerprint);
}

#[test]
fn the_first_ca_stored_wins_and_a_later_one_is_not_stored() {
    let cluster = netward_testkit::postgres::PgCluster::start();
    let store = PgStore::open(&cluster.create_database("ca_winner")).unwrap();
    assert_eq!(store.server_ca().unwrap(), None);
    let (first, second) = (new_ca().unwrap(), new_ca().unwrap());
    assert_ne!(first, second);
    assert_eq!(store.insert_server_ca(&first).unwrap(), first);
    assert_eq!(store.insert_server_ca(&second).unwrap(), first);
    assert_eq!(store.server_ca().unwrap(), Some(first));
}

#[test]
fn a_single_server_keeps_its_ca_in_its_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = load_or_create(dir.path(), &names("a.example")).unwrap();
    let tls = dir.path().join("tls");
    assert_eq!(first.ca_path, tls.join("ca.pem"));
    let key_mode = fs::metadata(tls.join("ca.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    let again = load_or_create(dir.path(), &names("b.example")).unwrap();
    assert_eq!(again.ca_fingerprint, first.ca_fingerprint);
    assert_eq!(fingerprint_of(&again.ca_path), first.ca_fingerprint);
}
