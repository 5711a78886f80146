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

use netward_model::{IndicatorValue, ValueError};

use super::lexer::{Token, malformed, tokens};

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
    let mut parser = Parser {
        tokens: tokens(pattern)?,
        pos: 0,
        depth: 0,
        end: pattern.chars().count(),
    };
    let tree = parser.observations()?;
    if parser.pos != parser.tokens.len() {
        return Err(malformed(parser.here(), "AND, OR or FOLLOWEDBY"));
    }
    let mut found = Vec::new();
    for value in eval(&tree)? {
        if !found.contains(&value) {
            found.push(value);
        }
    }
    Ok(found)
}

/// A parsed pattern: observations joined by operators, brackets around comparisons.
#[derive(Debug)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    FollowedBy(Box<Expr>, Box<Expr>),
    /// An observation with its qualifiers (`WITHIN`, …), or a parenthesised group.
    Qualified(Box<Expr>, Vec<&'static str>),
    Compare(Comparison),
    Exists,
}

#[derive(Debug)]
struct Comparison {
    path: String,
    negated: bool,
    operator: String,
    values: Vec<Token>,
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    depth: usize,
    /// The pattern's length, where a token missing at the end is reported.
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn here(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(at, _)| *at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.peek().cloned();
        self.pos += 1;
        token
    }

    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Word(w)) if w == word);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, token: Token, expected: &'static str) -> Result<(), PatternError> {
        if self.peek() == Some(&token) {
            self.pos += 1;
            Ok(())
        } else {
            Err(malformed(self.here(), expected))
        }
    }

    fn descend(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PatternError::TooDeep);
        }
        Ok(())
    }

    /// Binary operators, loosest first: `FOLLOWEDBY`, `OR`, `AND` between observations.
    fn observations(&mut self) -> Result<Expr, PatternError> {
        self.binary(0, &Self::observation)
    }

    /// Inside brackets, `OR` then `AND` between comparisons.
    fn comparisons(&mut self) -> Result<Expr, PatternError> {
        self.binary(1, &Self::comparison)
    }

    fn binary(
        &mut self,
        level: usize,
        operand: &dyn Fn(&mut Self) -> Result<Expr, PatternError>,
    ) -> Result<Expr, PatternError> {
        const LEVELS: [&str; 3] = ["FOLLOWEDBY", "OR", "AND"];
        let Some(&word) = LEVELS.get(level) else {
            return operand(self);
        };
        let mut left = self.binary(level + 1, operand)?;
        while self.keyword(word) {
            let right = Box::new(self.binary(level + 1, operand)?);
            let left_box = Box::new(left);
            left = match word {
                "FOLLOWEDBY" => Expr::FollowedBy(left_box, right),
                "OR" => Expr::Or(left_box, right),
                _ => Expr::And(left_box, right),
            };
        }
        Ok(left)
    }

    /// `[comparisons]` or `(observations)`, then any qualifiers.
    fn observation(&mut self) -> Result<Expr, PatternError> {
        self.descend()?;
        let inner = match self.next() {
            Some(Token::LBracket) => {
                let inner = self.comparisons()?;
                self.expect(Token::RBracket, "`]`")?;
                inner
            }
            Some(Token::LParen) => {
                let inner = self.observations()?;
                self.expect(Token::RParen, "`)`")?;
                inner
            }
            _ => {
                self.pos -= 1;
                return Err(malformed(self.here(), "`[` or `(`"));
            }
        };
        self.depth -= 1;
        let mut qualifiers = Vec::new();
        while let Some(q) = self.qualifier()? {
            qualifiers.push(q);
        }
        Ok(Expr::Qualified(Box::new(inner), qualifiers))
    }

    fn qualifier(&mut self) -> Result<Option<&'static str>, PatternError> {
        let (name, unit, follow): (_, _, fn(&Token) -> bool) = if self.keyword("WITHIN") {
            ("WITHIN", "SECONDS", |t| matches!(t, Token::Number(_)))
        } else if self.keyword("REPEATS") {
            ("REPEATS", "TIMES", |t| matches!(t, Token::Number(_)))
        } else if self.keyword("START") {
            ("START/STOP", "STOP", |t| matches!(t, Token::Typed('t', _)))
        } else {
            return Ok(None);
        };
        if !self.peek().is_some_and(follow) {
            return Err(malformed(self.here(), "the qualifier's value"));
        }
        self.pos += 1;
        if !self.keyword(unit) {
            return Err(malformed(self.here(), "SECONDS, TIMES or STOP"));
        }
        if name == "START/STOP" && !matches!(self.next(), Some(Token::Typed('t', _))) {
            self.pos -= 1;
            return Err(malformed(self.here(), "a t'…' timestamp after STOP"));
        }
        Ok(Some(name))
    }

    /// One comparison, `EXISTS path`, or `(comparisons)`.
    fn comparison(&mut self) -> Result<Expr, PatternError> {
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            self.descend()?;
            let inner = self.comparisons()?;
            self.expect(Token::RParen, "`)`")?;
            self.depth -= 1;
            return Ok(inner);
        }
        if self.keyword("EXISTS") {
            return match self.next() {
                Some(Token::Path(_)) => Ok(Expr::Exists),
                _ => {
                    self.pos -= 1;
                    Err(malformed(self.here(), "an object path"))
                }
            };
        }
        let path = match self.next() {
            Some(Token::Path(p)) => p,
            _ => {
                self.pos -= 1;
                return Err(malformed(
                    self.here(),
                    "an object path such as ipv4-addr:value",
                ));
            }
        };
        let negated = self.keyword("NOT");
        let operator = match self.next() {
            Some(Token::Compare(op)) => op.to_owned(),
            Some(Token::Word(w))
                if matches!(
                    w.as_str(),
                    "IN" | "LIKE" | "MATCHES" | "ISSUBSET" | "ISSUPERSET"
                ) =>
            {
                w
            }
            _ => {
                self.pos -= 1;
                return Err(malformed(self.here(), "an operator"));
            }
        };
        let values = if operator == "IN" {
            self.set()?
        } else {
            vec![self.literal()?]
        };
        Ok(Expr::Compare(Comparison {
            path,
            negated,
            operator,
            values,
        }))
    }

    /// `(literal, literal, …)` after `IN`.
    fn set(&mut self) -> Result<Vec<Token>, PatternError> {
        self.expect(Token::LParen, "`(` after IN")?;
        let mut values = vec![self.literal()?];
        while self.peek() == Some(&Token::Comma) {
            self.pos += 1;
            values.push(self.literal()?);
        }
        self.expect(Token::RParen, "`,` or `)`")?;
        Ok(values)
    }

    fn literal(&mut self) -> Result<Token, PatternError> {
        match self.next() {
            Some(t @ (Token::Str(_) | Token::Typed(..) | Token::Number(_))) => Ok(t),
            Some(Token::Word(w)) if w == "true" || w == "false" => Ok(Token::Word(w)),
            _ => {
                self.pos -= 1;
                Err(malformed(self.here(), "a literal"))
            }
        }
    }
}

/// The addresses a parsed pattern names, or the first reason it names none.
fn eval(expr: &Expr) -> Result<Vec<IndicatorValue>, PatternError> {
    match expr {
        Expr::Or(a, b) => {
            let mut values = eval(a)?;
            values.extend(eval(b)?);
            Ok(values)
        }
        Expr::And(a, b) => {
            if let Some(values) = typed_value(a, b).or_else(|| typed_value(b, a)) {
                return values;
            }
            // A more specific reason from either side first (a port term, say).
            eval(a)?;
            eval(b)?;
            Err(PatternError::And)
        }
        Expr::FollowedBy(a, b) => {
            eval(a)?;
            eval(b)?;
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
