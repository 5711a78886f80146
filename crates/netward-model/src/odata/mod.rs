//! The OData subset that MDE clients send to `GET /api/indicators`: `$filter` and
//! `$orderby`, parsed into typed values. Pure: no IO; the store turns a [`Filter`] into its own
//! query language (SQL for SQLite) and evaluates it there.
//!
//! Supported: `eq ne gt ge lt le`, `and`, `or`, `not`, parentheses, `startswith`, `endswith`
//! and `contains`, on the fields MDE lists (see [`Field`]). Literals are `'text'` (`''` is a
//! quote), whole numbers, `true`, `false`, `null`, and times, unquoted
//! (`2026-01-01T00:00:00Z`), quoted or as `datetime'…'`. Every literal is checked against
//! its field while parsing (an address must be an address, an action one of MDE's names), so
//! a filter that parses can always be evaluated; anything else is an [`ODataError`] naming the
//! part and its position.
//!
//! | file | what |
//! |---|---|
//! | `field.rs` | [`Field`]: the names and what each compares with |
//! | `filter.rs` | [`Filter`], [`Literal`], [`OrderBy`], and their printing as OData |
//! | `lexer.rs`, `parser.rs` | tokens with positions; the recursive-descent parser |
//! | `error.rs` | [`ODataError`] |

mod error;
mod field;
mod filter;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

pub use error::ODataError;
pub use field::{Field, FieldKind};
pub use filter::{CompareOp, Filter, Literal, OrderBy, TextFunction};
pub use parser::{MAX_CONDITIONS, MAX_DEPTH, parse_filter, parse_orderby};
