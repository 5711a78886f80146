//! The threat-intel feed formats against real servers on loopback: the OASIS TAXII 2.1
//! reference server (medallion) holding objects built with `stix2`, a static MISP feed
//! served by `python3 -m http.server`, and a MISP `restSearch` stand-in. The Python packages
//! come from `./dev setup` (see `python.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

#[path = "../common/mod.rs"]
mod common;
mod misp;
mod python;
mod stix_patterns;
mod taxii;
mod taxii_standin;
mod through_the_api;

use std::collections::BTreeMap;

use netward_server::feeds::{Content, FeedItem, Pull};

/// Items by value, as text.
pub fn by_value(items: &[FeedItem]) -> BTreeMap<String, &FeedItem> {
    items.iter().map(|i| (i.value.to_string(), i)).collect()
}

/// The items of a pull that must be the feed's whole content, by value.
pub fn complete(pull: &Pull) -> BTreeMap<String, &FeedItem> {
    match &pull.content {
        Content::Complete(items) => by_value(items),
        other => panic!("the pull is not complete: {other:?}"),
    }
}

/// Serves `app` on a free loopback port for the rest of the test; its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a stand-in server");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
