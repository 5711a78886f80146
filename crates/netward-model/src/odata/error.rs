//! [`ODataError`]: why a `$filter` or `$orderby` was refused. Every variant names the part it
//! could not handle, as written, and its position (in characters, counting from 1).

use super::Field;

/// A `$filter` or `$orderby` that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ODataError {
    /// Nothing but white space.
    #[error("the expression is empty")]
    Empty,
    /// A character no token starts with.
    #[error("`{ch}` at {at} cannot appear here; quote text as '…'")]
    UnexpectedCharacter {
        /// The character.
        ch: char,
        /// Its position.
        at: usize,
    },
    /// A quote that is never closed.
    #[error("the text starting at {at} has no closing quote (write a quote inside text as '')")]
    UnterminatedText {
        /// The position of the opening quote.
        at: usize,
    },
    /// A name that is not a field.
    #[error(
        "`{text}` at {at} is not a field you can filter on; use one of {}",
        Field::names()
    )]
    UnknownField {
        /// The name as written.
        text: String,
        /// Its position.
        at: usize,
    },
    /// A name followed by `(` that is not a function.
    #[error("`{text}` at {at} is not a function; use startswith, endswith or contains")]
    UnknownFunction {
        /// The name as written.
        text: String,
        /// Its position.
        at: usize,
    },
    /// A word where a comparison operator belongs.
    #[error("`{text}` at {at} is not an operator; use eq, ne, gt, ge, lt or le")]
    UnknownOperator {
        /// The word as written.
        text: String,
        /// Its position.
        at: usize,
    },
    /// A token where something else belongs.
    #[error("`{text}` at {at} is out of place: expected {expected}")]
    Unexpected {
        /// The token as written.
        text: String,
        /// Its position.
        at: usize,
        /// What belongs there.
        expected: &'static str,
    },
    /// The input ends too early.
    #[error("the expression ends at {at}, where {expected} was expected")]
    UnexpectedEnd {
        /// The position after the last character.
        at: usize,
        /// What was expected.
        expected: &'static str,
    },
    /// An unquoted word that is no literal.
    #[error(
        "`{text}` at {at} is not a value: quote text ('…'), or write a number, true, false, null or a time such as 2026-01-01T00:00:00Z"
    )]
    NotAValue {
        /// The word as written.
        text: String,
        /// Its position.
        at: usize,
    },
    /// A literal of the wrong kind for its field.
    #[error("`{text}` at {at} is not {expected}, which `{field}` compares with")]
    WrongType {
        /// The literal as written.
        text: String,
        /// Its position.
        at: usize,
        /// The field.
        field: Field,
        /// The kind of literal the field takes.
        expected: &'static str,
    },
    /// A literal of the right kind that the field cannot hold (an address, an action name).
    #[error("`{text}` at {at} cannot be compared with `{field}`: {reason}")]
    InvalidValue {
        /// The literal as written.
        text: String,
        /// Its position.
        at: usize,
        /// The field.
        field: Field,
        /// Why.
        reason: String,
    },
    /// An operator the field does not take (`action gt 'Block'`).
    #[error("`{text}` at {at} does not apply to `{field}`, which takes {allowed}")]
    OperatorNotAllowed {
        /// The operator as written.
        text: String,
        /// Its position.
        at: usize,
        /// The field.
        field: Field,
        /// The operators it takes.
        allowed: &'static str,
    },
    /// A text function on a field that is not text.
    #[error(
        "`{text}` at {at} is not text: startswith, endswith and contains apply to text fields and indicatorValue"
    )]
    FunctionNotAllowed {
        /// The field as written.
        text: String,
        /// Its position.
        at: usize,
    },
    /// An `$orderby` on a list.
    #[error("`{text}` at {at} is a list and cannot order the results")]
    NotOrderable {
        /// The field as written.
        text: String,
        /// Its position.
        at: usize,
    },
    /// Parentheses or `not` nested beyond the limit.
    #[error("the expression nests deeper than {max} levels at {at}")]
    TooDeep {
        /// The position of the opening that went too deep.
        at: usize,
        /// The limit.
        max: usize,
    },
    /// More conditions than the limit.
    #[error("the expression has more than {max} conditions; the one at {at} is too many")]
    TooManyConditions {
        /// The position of the first condition beyond the limit.
        at: usize,
        /// The limit.
        max: usize,
    },
}
