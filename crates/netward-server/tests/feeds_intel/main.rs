//! The threat-intel feed formats against real servers on loopback: the OASIS TAXII 2.1
//! reference server (medallion) holding objects built with `stix2`, a static MISP feed
//! served by `python3 -m http.server`, and a MISP `restSearch` stand-in. The Python packages
//! come from `./dev setup` (see `python.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod misp;
mod python;
mod taxii;
mod taxii_standin;
