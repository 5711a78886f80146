//! STIX 2.1 patterns → the addresses they name, for the subset that means "traffic to or from
//! these addresses": `ipv4-addr:value` / `ipv6-addr:value` with `=`, `ISSUBSET` or `IN`,
//! `network-traffic:dst_ref.value` / `src_ref.value`, and `OR` between or inside
//! observations. Everything else is refused with a reason, because netward enforces each
//! address on its own and for all time: `AND` (all terms at once), `NOT`, `!=`, `LIKE`,
//! `MATCHES`, port terms (refused rather than widened to every port), the qualifiers
//! `WITHIN`, `REPEATS`, `START … STOP`, `FOLLOWEDBY`, and other object types. A pattern that
//! is not STIX at all is refused as malformed; the parser never panics (see the fuzz target).
//!
//! One narrow `AND` is taken: `[network-traffic:dst_ref.type = 'ipv4-addr' AND
//! network-traffic:dst_ref.value = '…']`, the form of the STIX specification's own examples,
//! where the type term only restates the value's family.

use std::collections::HashSet;

use netward_model::{IndicatorValue, ValueError};

use super::lexer::Token;
use super::parser::{Comparison, Expr, Parser};

/// Why a pattern names no addresses netward can enforce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("malformed pattern: expected {expected} at character {at}")]
    Malformed { at: usize, expected: &'static str },
    #[error("parentheses and brackets nest more than {MAX_DEPTH} deep")]
    TooDeep,
    #[error(
        "AND is not supported: it matches only when every term holds, and netward blocks each address on its own"
    )]
    And,
    #[error("FOLLOWEDBY is not supported: a sequence of observations is not an address")]
    FollowedBy,
    #[error("NOT is not supported: a negated term names every other address")]
    Not,
    #[error("EXISTS is not supported: it names no address")]
    Exists,
    #[error("the operator {0} is not supported: only =, ISSUBSET and IN name addresses")]
    Operator(String),
    #[error(
        "`{0}` is a port term: netward blocks whole addresses, and refuses rather than widen it to every port"
    )]
    PortTerm(String),
    #[error("the qualifier {0} is not supported: netward cannot enforce a match over time")]
    Qualifier(&'static str),
    #[error(
        "`{0}` names no address: only ipv4-addr:value, ipv6-addr:value and network-traffic:src_ref.value / dst_ref.value do"
    )]
    Path(String),
    #[error("IN () names no address")]
    EmptySet,
    #[error("`{0}` is not a quoted address")]
    NotAString(String),
    #[error("{0}")]
    Value(ValueError),
    #[error("`{value}` is not an {family} address, which `{path}` requires")]
    Family {
        value: String,
        path: String,
        family: &'static str,
    },
}

/// How deep parentheses and brackets may nest: far beyond any real pattern, and a bound on
/// the parser's recursion.
pub const MAX_DEPTH: usize = 64;

/// The addresses and networks `pattern` names, without repeats, in the order met.
pub fn addresses(pattern: &str) -> Result<Vec<IndicatorValue>, PatternError> {
    let tree = Parser::parse(pattern)?;
    let mut seen = HashSet::new();
    let mut found = eval(&tree)?;
    found.retain(|value| seen.insert(*value));
    Ok(found)
}

/// The addresses a parsed pattern names, or the first reason it names none.
fn eval(expr: &Expr) -> Result<Vec<IndicatorValue>, PatternError> {
    match expr {
        Expr::Or(operands) => {
            let mut values = Vec::new();
            for operand in operands {
                values.extend(eval(operand)?);
            }
            Ok(values)
        }
        Expr::And(operands) => {
            if let [a, b] = operands.as_slice()
                && let Some(values) = typed_value(a, b).or_else(|| typed_value(b, a))
            {
                return values;
            }
            // A more specific reason from an operand first (a port term, say).
            for operand in operands {
                eval(operand)?;
            }
            Err(PatternError::And)
        }
        Expr::FollowedBy(operands) => {
            for operand in operands {
                eval(operand)?;
            }
            Err(PatternError::FollowedBy)
        }
        Expr::Qualified(inner, qualifiers) => {
            let values = eval(inner)?;
            match qualifiers.first() {
                Some(q) => Err(PatternError::Qualifier(q)),
                None => Ok(values),
            }
        }
        Expr::Exists => Err(PatternError::Exists),
        Expr::Compare(c) => compare(c),
    }
}

/// `X_ref.type = 'ipv4-addr' AND X_ref.value = '…'`, when the type agrees with the value.
fn typed_value(kind: &Expr, value: &Expr) -> Option<Result<Vec<IndicatorValue>, PatternError>> {
    let (Expr::Compare(kind), Expr::Compare(value)) = (kind, value) else {
        return None;
    };
    let reference = kind.path.strip_suffix(".type")?;
    if kind.negated || kind.operator != "=" || value.path != format!("{reference}.value") {
        return None;
    }
    let [Token::Str(family)] = kind.values.as_slice() else {
        return None;
    };
    let path = match family.as_str() {
        "ipv4-addr" => "ipv4-addr:value",
        "ipv6-addr" => "ipv6-addr:value",
        _ => return None,
    };
    let values = compare(value).and_then(|_| {
        compare(&Comparison {
            path: path.to_owned(),
            negated: value.negated,
            operator: value.operator.clone(),
            values: value.values.clone(),
        })
    });
    Some(values)
}

fn compare(c: &Comparison) -> Result<Vec<IndicatorValue>, PatternError> {
    let family = match c.path.as_str() {
        "ipv4-addr:value" => Some("IPv4"),
        "ipv6-addr:value" => Some("IPv6"),
        "network-traffic:dst_ref.value" | "network-traffic:src_ref.value" => None,
        p if p.starts_with("network-traffic:") && p.contains("port") => {
            return Err(PatternError::PortTerm(c.path.clone()));
        }
        _ => return Err(PatternError::Path(c.path.clone())),
    };
    if c.negated {
        return Err(PatternError::Not);
    }
    if !matches!(c.operator.as_str(), "=" | "ISSUBSET" | "IN") {
        return Err(PatternError::Operator(c.operator.clone()));
    }
    if c.values.is_empty() {
        return Err(PatternError::EmptySet);
    }
    c.values
        .iter()
        .map(|literal| {
            let Token::Str(text) = literal else {
                return Err(PatternError::NotAString(literal_text(literal)));
            };
            let value = IndicatorValue::parse(text).map_err(PatternError::Value)?;
            let wrong = match family {
                Some("IPv4") => text.contains(':'),
                Some(_) => !text.contains(':'),
                None => false,
            };
            if let (true, Some(family)) = (wrong, family) {
                return Err(PatternError::Family {
                    value: text.clone(),
                    path: c.path.clone(),
                    family,
                });
            }
            Ok(value)
        })
        .collect()
}

fn literal_text(token: &Token) -> String {
    match token {
        Token::Typed(prefix, text) => format!("{prefix}'{text}'"),
        Token::Number(n) | Token::Word(n) | Token::Str(n) => n.clone(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests;
