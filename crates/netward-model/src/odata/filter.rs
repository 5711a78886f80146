//! The parsed forms: [`Filter`] (a `$filter` expression, its literals already typed for the
//! field they are compared with) and [`OrderBy`]. Both print back as OData text that parses
//! to the same value, which the tests check.

use std::fmt;

use super::Field;
use crate::timestamp::format_rfc3339;
use crate::{Action, IndicatorValue, Severity};

/// A `$filter` expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `field op literal`.
    Compare {
        /// The field on the left.
        field: Field,
        /// The operator.
        op: CompareOp,
        /// The literal on the right, typed for the field.
        value: Literal,
    },
    /// `startswith(field,'text')` and its siblings (case-sensitive, as in OData).
    Text {
        /// The function.
        function: TextFunction,
        /// A text field, or `indicatorValue` (its canonical text).
        field: Field,
        /// The text looked for.
        text: String,
    },
    /// Both hold.
    And(Box<Filter>, Box<Filter>),
    /// Either holds.
    Or(Box<Filter>, Box<Filter>),
    /// The inner filter does not hold.
    Not(Box<Filter>),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`.
    Eq,
    /// `ne`.
    Ne,
    /// `gt`.
    Gt,
    /// `ge`.
    Ge,
    /// `lt`.
    Lt,
    /// `le`.
    Le,
}

impl CompareOp {
    /// Every operator.
    pub const ALL: [Self; 6] = [Self::Eq, Self::Ne, Self::Gt, Self::Ge, Self::Lt, Self::Le];

    /// The OData keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// Reads an operator keyword, case-insensitively.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    /// Whether the operator only asks for (in)equality.
    pub fn is_equality(self) -> bool {
        matches!(self, Self::Eq | Self::Ne)
    }
}

/// A text function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextFunction {
    /// `startswith(field,'text')`.
    StartsWith,
    /// `endswith(field,'text')`.
    EndsWith,
    /// `contains(field,'text')`.
    Contains,
}

impl TextFunction {
    /// The OData name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartsWith => "startswith",
            Self::EndsWith => "endswith",
            Self::Contains => "contains",
        }
    }

    /// Reads a function name, case-insensitively.
    pub fn parse(word: &str) -> Option<Self> {
        [Self::StartsWith, Self::EndsWith, Self::Contains]
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(word))
    }
}

/// A literal, typed for the field it is compared with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Literal {
    /// Text, without its quotes.
    Text(String),
    /// A whole number.
    Number(i64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An instant, in Unix seconds.
    Time(i64),
    /// An `indicatorValue`, canonical.
    Address(IndicatorValue),
    /// An `action` name: the action, and whether the name also requires `generateAlert`
    /// (`AlertAndBlock`, `Alert`).
    Action {
        /// The action.
        action: Action,
        /// Whether the name implies `generateAlert eq true`.
        alert: bool,
    },
    /// A severity.
    Severity(Severity),
}

impl Literal {
    /// MDE's name of an action literal: `Allowed`, `Audit`, `Alert`, `Block` or `AlertAndBlock`.
    pub fn action_name(action: Action, alert: bool) -> &'static str {
        match (action, alert) {
            (Action::Audit, true) => "Alert",
            (Action::Block, true) => "AlertAndBlock",
            (action, _) => action.mde_name(),
        }
    }
}

/// One term of an `$orderby`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrderBy {
    /// The field.
    pub field: Field,
    /// `desc` rather than `asc`.
    pub descending: bool,
}

fn quoted(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    write!(f, "'{}'", text.replace('\'', "''"))
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(t) => quoted(f, t),
            Self::Number(n) => write!(f, "{n}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Null => f.write_str("null"),
            Self::Time(secs) => f.write_str(&format_rfc3339(*secs)),
            Self::Address(v) => quoted(f, &v.to_string()),
            Self::Action { action, alert } => quoted(f, Self::action_name(*action, *alert)),
            Self::Severity(s) => quoted(f, s.as_str()),
        }
    }
}

impl Filter {
    /// Binding strength, for printing only the parentheses that are needed.
    fn strength(&self) -> u8 {
        match self {
            Self::Or(..) => 1,
            Self::And(..) => 2,
            _ => 3,
        }
    }

    /// Writes `inner`, in parentheses if it binds less than `at_least`.
    fn operand(f: &mut fmt::Formatter<'_>, inner: &Self, at_least: u8) -> fmt::Result {
        if inner.strength() < at_least {
            write!(f, "({inner})")
        } else {
            write!(f, "{inner}")
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compare { field, op, value } => write!(f, "{field} {} {value}", op.as_str()),
            Self::Text {
                function,
                field,
                text,
            } => {
                write!(f, "{}({field},", function.as_str())?;
                quoted(f, text)?;
                f.write_str(")")
            }
            // Left-associative: the right operand of a chain needs parentheses to stay there.
            Self::And(a, b) | Self::Or(a, b) => {
                let (strength, word) = (
                    self.strength(),
                    if self.strength() == 1 { "or" } else { "and" },
                );
                Self::operand(f, a, strength)?;
                write!(f, " {word} ")?;
                Self::operand(f, b, strength + 1)
            }
            Self::Not(inner) => {
                f.write_str("not ")?;
                Self::operand(f, inner, 3)
            }
        }
    }
}

impl fmt::Display for OrderBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = if self.descending { "desc" } else { "asc" };
        write!(f, "{} {direction}", self.field)
    }
}
