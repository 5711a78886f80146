//! The grammar of STIX 2.1 patterns (STIX 2.1 §9.3) over the tokens of `lexer.rs`, read by
//! recursive descent into an [`Expr`]: observations joined by `FOLLOWEDBY`, `OR` and `AND`
//! (loosest first), each `[…]` holding comparisons joined by `OR` and `AND`, then qualifiers.
//! It only reads; `pattern.rs` decides what an expression means for netward.

use super::lexer::{Token, malformed, tokens};
use super::pattern::{MAX_DEPTH, PatternError};

/// A parsed pattern: observations joined by operators, brackets around comparisons.
#[derive(Debug)]
pub(super) enum Expr {
    /// Two or more operands, flat: a long chain is a list, never a deep tree.
    Or(Vec<Expr>),
    And(Vec<Expr>),
    FollowedBy(Vec<Expr>),
    /// An observation with its qualifiers (`WITHIN`, …), or a parenthesised group.
    Qualified(Box<Expr>, Vec<&'static str>),
    Compare(Comparison),
    Exists,
}

#[derive(Debug)]
pub(super) struct Comparison {
    pub path: String,
    pub negated: bool,
    pub operator: String,
    pub values: Vec<Token>,
}

pub(super) struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    depth: usize,
    /// The pattern's length, where a token missing at the end is reported.
    end: usize,
}

impl Parser {
    /// Reads the whole of `pattern`.
    pub fn parse(pattern: &str) -> Result<Expr, PatternError> {
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
        Ok(tree)
    }

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
        let mut operands = vec![self.binary(level + 1, operand)?];
        while self.keyword(word) {
            operands.push(self.binary(level + 1, operand)?);
        }
        if operands.len() == 1 {
            return Ok(operands.remove(0));
        }
        Ok(match word {
            "FOLLOWEDBY" => Expr::FollowedBy(operands),
            "OR" => Expr::Or(operands),
            _ => Expr::And(operands),
        })
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
        if self.peek() == Some(&Token::RParen) {
            self.pos += 1;
            return Ok(Vec::new());
        }
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
