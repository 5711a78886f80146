//! STIX 2.1: the pattern subset that names IP addresses (`pattern.rs`, over the tokens of
//! `lexer.rs`), and indicator objects turned into feed items (`indicators.rs`). Pure: no I/O;
//! the TAXII client (`feeds/taxii/`) fetches the objects.

mod indicators;
mod lexer;
mod parser;
pub mod pattern;

pub use indicators::{IndicatorBatch, IndicatorReader};
pub use pattern::{PatternError, addresses};
