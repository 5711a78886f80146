//! A recursive-descent parser over the lexer's tokens. The grammar, loosest first:
//!
//! ```text
//! filter     = and ("or" and)*
//! and        = unary ("and" unary)*
//! unary      = "not" unary | primary
//! primary    = "(" filter ")" | function | comparison
//! function   = ("startswith" | "endswith" | "contains") "(" field "," text ")" [("eq" | "ne") bool]
//! comparison = field op literal | boolean-field
//! orderby    = field ["asc" | "desc"] ("," field ["asc" | "desc"])*
//! ```
//!
//! Keywords, field and function names are read case-insensitively. Each literal is typed for
//! its field here, so a filter that parses can always be evaluated.

use super::lexer::{Spanned, Token, tokenize};
use super::{CompareOp, Field, FieldKind, Filter, Literal, ODataError, OrderBy, TextFunction};
use crate::timestamp::parse_rfc3339;
use crate::{Action, AlertRule, IndicatorValue, Severity};

/// How deep parentheses and `not` may nest.
pub const MAX_DEPTH: usize = 32;
/// How many comparisons and functions one filter may hold.
pub const MAX_CONDITIONS: usize = 100;

/// Parses a URL-decoded `$filter`.
pub fn parse_filter(input: &str) -> Result<Filter, ODataError> {
    let mut p = Parser::new(input)?;
    if p.tokens.is_empty() {
        return Err(ODataError::Empty);
    }
    let filter = p.or()?;
    match p.peek() {
        None => Ok(filter),
        Some(t) => Err(unexpected(t, "`and`, `or` or the end of the filter")),
    }
}

/// Parses a URL-decoded `$orderby`: fields, each optionally `asc` or `desc`, comma-separated.
pub fn parse_orderby(input: &str) -> Result<Vec<OrderBy>, ODataError> {
    let mut p = Parser::new(input)?;
    if p.tokens.is_empty() {
        return Err(ODataError::Empty);
    }
    let mut order = Vec::new();
    loop {
        let (field, t) = p.field("a field")?;
        if field.kind() == FieldKind::Groups {
            return Err(ODataError::NotOrderable {
                text: t.written,
                at: t.at,
            });
        }
        let descending = p.keyword("desc");
        if !descending {
            p.keyword("asc");
        }
        order.push(OrderBy { field, descending });
        if p.comma_or_end()? {
            return Ok(order);
        }
    }
}

fn unexpected(t: &Spanned, expected: &'static str) -> ODataError {
    ODataError::Unexpected {
        text: t.written.clone(),
        at: t.at,
        expected,
    }
}

struct Parser {
    tokens: Vec<Spanned>,
    pos: usize,
    /// The position after the last character, for "ends too early".
    end: usize,
    depth: usize,
    conditions: usize,
}

impl Parser {
    fn new(input: &str) -> Result<Self, ODataError> {
        Ok(Self {
            tokens: tokenize(input)?,
            pos: 0,
            end: input.chars().count() + 1,
            depth: 0,
            conditions: 0,
        })
    }

    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.pos)
    }

    /// The next token, which must exist.
    fn next(&mut self, expected: &'static str) -> Result<Spanned, ODataError> {
        let t = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or(ODataError::UnexpectedEnd {
                at: self.end,
                expected,
            })?;
        self.pos += 1;
        Ok(t)
    }

    /// Takes the next token if it is the keyword `word`.
    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek().map(|t| &t.token),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case(word));
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, token: Token, expected: &'static str) -> Result<(), ODataError> {
        let t = self.next(expected)?;
        if t.token == token {
            Ok(())
        } else {
            Err(unexpected(&t, expected))
        }
    }

    /// In an `$orderby`: true at the end, false after a comma.
    fn comma_or_end(&mut self) -> Result<bool, ODataError> {
        match self.peek() {
            None => Ok(true),
            Some(t) if t.token == Token::Comma => {
                self.pos += 1;
                Ok(false)
            }
            Some(t) => Err(unexpected(t, "`asc`, `desc`, `,` or the end")),
        }
    }

    /// A field name.
    fn field(&mut self, expected: &'static str) -> Result<(Field, Spanned), ODataError> {
        let t = self.next(expected)?;
        match &t.token {
            Token::Word(w) => match Field::parse(w) {
                Some(f) => Ok((f, t)),
                None => Err(ODataError::UnknownField {
                    text: t.written,
                    at: t.at,
                }),
            },
            _ => Err(unexpected(&t, expected)),
        }
    }

    fn nest(&mut self, at: usize) -> Result<(), ODataError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ODataError::TooDeep { at, max: MAX_DEPTH });
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, ODataError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ODataError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ODataError> {
        let at = self.peek().map_or(self.end, |t| t.at);
        if self.keyword("not") {
            self.nest(at)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Filter, ODataError> {
        const EXPECTED: &str = "a field, a function, `not` or `(`";
        let t = self.next(EXPECTED)?;
        match &t.token {
            Token::Open => {
                self.nest(t.at)?;
                let inner = self.or()?;
                self.expect(Token::Close, "`)`, `and` or `or`")?;
                self.depth -= 1;
                Ok(inner)
            }
            Token::Word(w) => {
                self.conditions += 1;
                if self.conditions > MAX_CONDITIONS {
                    return Err(ODataError::TooManyConditions {
                        at: t.at,
                        max: MAX_CONDITIONS,
                    });
                }
                if self.peek().is_some_and(|n| n.token == Token::Open) {
                    let function =
                        TextFunction::parse(w).ok_or_else(|| ODataError::UnknownFunction {
                            text: t.written.clone(),
                            at: t.at,
                        })?;
                    self.function(function)
                } else {
                    self.pos -= 1;
                    self.comparison()
                }
            }
            _ => Err(unexpected(&t, EXPECTED)),
        }
    }

    fn function(&mut self, function: TextFunction) -> Result<Filter, ODataError> {
        self.expect(Token::Open, "`(`")?;
        let (field, t) = self.field("a field")?;
        if !matches!(field.kind(), FieldKind::Text | FieldKind::Address) {
            return Err(ODataError::FunctionNotAllowed {
                text: t.written,
                at: t.at,
            });
        }
        self.expect(Token::Comma, "`,`")?;
        let arg = self.next("quoted text")?;
        let Token::Text(text) = &arg.token else {
            return Err(unexpected(&arg, "quoted text"));
        };
        let text = text.clone();
        self.expect(Token::Close, "`)`")?;
        let filter = Filter::Text {
            function,
            field,
            text,
        };
        // OData v3 clients write `startswith(title,'x') eq true`.
        let negate = if self.keyword("eq") {
            false
        } else if self.keyword("ne") {
            true
        } else {
            return Ok(filter);
        };
        let b = self.next("`true` or `false`")?;
        let holds = match &b.token {
            Token::Word(w) if w.eq_ignore_ascii_case("true") => true,
            Token::Word(w) if w.eq_ignore_ascii_case("false") => false,
            _ => return Err(unexpected(&b, "`true` or `false`")),
        };
        Ok(if holds != negate {
            filter
        } else {
            Filter::Not(Box::new(filter))
        })
    }

    /// OData 4.01's `field in (a, b, …)`, which `mde-client` sends: read as
    /// `field eq a or field eq b …`, each value typed for the field.
    fn one_of(&mut self, field: Field) -> Result<Filter, ODataError> {
        self.expect(Token::Open, "`(`")?;
        let mut any: Option<Filter> = None;
        loop {
            let t = self.next("a value")?;
            let value = typed(field, CompareOp::Eq, &t)?;
            let one = Filter::Compare {
                field,
                op: CompareOp::Eq,
                value,
            };
            any = Some(match any {
                None => one,
                Some(before) => Filter::Or(Box::new(before), Box::new(one)),
            });
            let t = self.next("`,` or `)`")?;
            match t.token {
                Token::Comma => {
                    self.conditions += 1;
                    if self.conditions > MAX_CONDITIONS {
                        return Err(ODataError::TooManyConditions {
                            at: t.at,
                            max: MAX_CONDITIONS,
                        });
                    }
                }
                Token::Close => break,
                _ => return Err(unexpected(&t, "`,` or `)`")),
            }
        }
        any.ok_or(ODataError::UnexpectedEnd {
            at: self.end,
            expected: "a value",
        })
    }

    fn comparison(&mut self) -> Result<Filter, ODataError> {
        const OPERATOR: &str = "an operator (eq, ne, gt, ge, lt, le)";
        let (field, _) = self.field("a field")?;
        let op_token = match self.peek() {
            // A boolean field alone is a condition: `generateAlert`, `not generateAlert`.
            Some(t) if field.kind() == FieldKind::Bool && !is_operator(t) => None,
            None if field.kind() == FieldKind::Bool => None,
            _ => Some(self.next(OPERATOR)?),
        };
        let Some(op_token) = op_token else {
            return Ok(Filter::Compare {
                field,
                op: CompareOp::Eq,
                value: Literal::Bool(true),
            });
        };
        if matches!(&op_token.token, Token::Word(w) if w.eq_ignore_ascii_case("in")) {
            return self.one_of(field);
        }
        let op = match &op_token.token {
            Token::Word(w) => CompareOp::parse(w).ok_or_else(|| ODataError::UnknownOperator {
                text: op_token.written.clone(),
                at: op_token.at,
            })?,
            _ => return Err(unexpected(&op_token, OPERATOR)),
        };
        let equality_only = !matches!(
            field.kind(),
            FieldKind::Text | FieldKind::Severity | FieldKind::Time { .. } | FieldKind::Number
        );
        if equality_only && !op.is_equality() {
            return Err(ODataError::OperatorNotAllowed {
                text: op_token.written,
                at: op_token.at,
                field,
                allowed: "only eq and ne",
            });
        }
        let t = self.next("a value")?;
        let value = typed(field, op, &t)?;
        Ok(Filter::Compare { field, op, value })
    }
}

fn is_operator(t: &Spanned) -> bool {
    matches!(&t.token, Token::Word(w) if CompareOp::parse(w).is_some() || w.eq_ignore_ascii_case("in"))
}

/// What an unquoted word means as a literal.
fn word_literal(t: &Spanned, w: &str) -> Result<Literal, ODataError> {
    if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") {
        Ok(Literal::Bool(w.eq_ignore_ascii_case("true")))
    } else if w.eq_ignore_ascii_case("null") {
        Ok(Literal::Null)
    } else if let Ok(n) = w.parse::<i64>() {
        Ok(Literal::Number(n))
    } else if let Some(secs) = parse_rfc3339(w) {
        Ok(Literal::Time(secs))
    } else {
        Err(ODataError::NotAValue {
            text: t.written.clone(),
            at: t.at,
        })
    }
}

/// The literal `t`, typed for `field` and `op`.
fn typed(field: Field, op: CompareOp, t: &Spanned) -> Result<Literal, ODataError> {
    let wrong = |expected: &'static str| ODataError::WrongType {
        text: t.written.clone(),
        at: t.at,
        field,
        expected,
    };
    let invalid = |reason: String| ODataError::InvalidValue {
        text: t.written.clone(),
        at: t.at,
        field,
        reason,
    };
    let raw = match &t.token {
        Token::Word(w) => word_literal(t, w)?,
        Token::Text(s) => Literal::Text(s.clone()),
        Token::DateTime(s) => {
            Literal::Time(parse_rfc3339(s).ok_or_else(|| invalid("not an RFC 3339 time".into()))?)
        }
        _ => return Err(unexpected(t, "a value")),
    };
    match (field.kind(), raw) {
        // A group by the number netward shows in `rbacGroupIds`, quoted or not (clients that
        // echo ids as strings send `'2'`).
        (FieldKind::Groups, Literal::Number(n)) if field == Field::RbacGroupIds => {
            Ok(Literal::Number(n))
        }
        (FieldKind::Groups, Literal::Text(s))
            if field == Field::RbacGroupIds
                && !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse::<i64>()
                .map(Literal::Number)
                .map_err(|_| wrong("a group number"))
        }
        (FieldKind::Text | FieldKind::Groups | FieldKind::IndicatorType, Literal::Text(s)) => {
            Ok(Literal::Text(s))
        }
        (FieldKind::Text | FieldKind::Groups | FieldKind::IndicatorType, _) => {
            Err(wrong("quoted text"))
        }
        (FieldKind::Address, Literal::Text(s)) => IndicatorValue::parse(&s)
            .map(Literal::Address)
            .map_err(|e| invalid(e.to_string())),
        (FieldKind::Address, _) => Err(wrong("a quoted address or CIDR network")),
        (FieldKind::Action, Literal::Text(s)) => match Action::parse(&s) {
            Ok((action, rule)) => Ok(Literal::Action {
                action,
                alert: rule == AlertRule::Required,
            }),
            // MDE's actions netward never stores: a filter on them matches nothing (or, with
            // `ne`, everything), as it would on a tenant that has none.
            Err(crate::ActionError::Warn) => Ok(Literal::Text("Warn".into())),
            Err(crate::ActionError::BlockAndRemediate) => {
                Ok(Literal::Text("BlockAndRemediate".into()))
            }
            Err(e) => Err(invalid(e.to_string())),
        },
        (FieldKind::Action, _) => Err(wrong("a quoted action name")),
        (FieldKind::Severity, Literal::Text(s)) => {
            Severity::parse(&s).map(Literal::Severity).ok_or_else(|| {
                invalid("not a severity; use Informational, Low, Medium or High".into())
            })
        }
        (FieldKind::Severity, _) => Err(wrong("a quoted severity")),
        (FieldKind::Bool, b @ Literal::Bool(_)) => Ok(b),
        (FieldKind::Bool, _) => Err(wrong("true or false")),
        (FieldKind::Number, n @ Literal::Number(_)) => Ok(n),
        (FieldKind::Number, Literal::Text(s)) => s
            .parse::<i64>()
            .map(Literal::Number)
            .map_err(|_| wrong("a whole number")),
        (FieldKind::Number, _) => Err(wrong("a whole number")),
        (FieldKind::Time { .. }, time @ Literal::Time(_)) => Ok(time),
        (FieldKind::Time { .. }, Literal::Text(s)) => parse_rfc3339(&s)
            .map(Literal::Time)
            .ok_or_else(|| wrong("a time such as 2026-01-01T00:00:00Z")),
        (FieldKind::Time { nullable: true }, Literal::Null) if op.is_equality() => {
            Ok(Literal::Null)
        }
        (FieldKind::Time { nullable: true }, Literal::Null) => {
            Err(wrong("a time (null compares only with eq and ne)"))
        }
        (FieldKind::Time { .. }, _) => Err(wrong("a time such as 2026-01-01T00:00:00Z")),
    }
}
