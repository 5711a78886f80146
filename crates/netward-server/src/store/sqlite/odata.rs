//! A parsed `$filter` of the indicators list, as SQLite: a `WHERE` condition whose values
//! are all bound parameters (the columns, and the `ORDER BY` of an `$orderby`, are in
//! `indicator_sql.rs`, which both backends share).
//!
//! What the fields mean here (the parser has already typed every literal):
//! - `action` compares the MDE name the indicator was submitted with and is shown with:
//!   `Block` does not match one sent as `AlertAndBlock`; MDE names netward never stores
//!   (`Warn`) match nothing.
//! - `indicatorValue` compares the canonical value; `indicatorType` is always `IpAddress`.
//! - `rbacGroupNames` and `rbacGroupIds`: `eq 'x'` holds when the indicator's scope names
//!   group `x`, `ne 'x'` when it does not; `rbacGroupIds` also takes a group's number (`eq 2`,
//!   or `eq '2'`). An indicator scoped to every device names no group.
//! - `createdBy`, `createdByDisplayName` and `source` are the creator's name.
//! - Times compare as instants, to the second; `expirationTime eq null` is "never expires".
//!
//! Every condition evaluates to 0 or 1, never NULL (a nullable column is compared with `IS`
//! or guarded), so `not` is plain negation, as in OData.

use netward_model::odata::{CompareOp, Field, Filter, Literal, TextFunction};
use rusqlite::types::Value;

use crate::store::indicator_sql::{column, rank, sql_op};

/// The bound value of a literal.
fn bound(value: &Literal) -> Value {
    match value {
        Literal::Text(t) => Value::Text(t.clone()),
        Literal::Number(n) | Literal::Time(n) => Value::Integer(*n),
        Literal::Bool(b) => Value::Integer(i64::from(*b)),
        Literal::Null => Value::Null,
        Literal::Address(v) => Value::Text(v.to_string()),
        Literal::Action { action, .. } => Value::Text(action.as_str().to_owned()),
        Literal::Severity(s) => Value::Integer(rank(*s)),
    }
}

/// Appends `filter` to `sql` as one parenthesised condition, and its values to `args`.
pub(super) fn push_filter(filter: &Filter, sql: &mut String, args: &mut Vec<Value>) {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            let word = if matches!(filter, Filter::And(..)) {
                " AND "
            } else {
                " OR "
            };
            sql.push('(');
            push_filter(a, sql, args);
            sql.push_str(word);
            push_filter(b, sql, args);
            sql.push(')');
        }
        Filter::Not(inner) => {
            sql.push_str("(NOT ");
            push_filter(inner, sql, args);
            sql.push(')');
        }
        Filter::Text {
            function,
            field,
            text,
        } => push_text(*function, *field, text, sql, args),
        Filter::Compare { field, op, value } => push_compare(*field, *op, value, sql, args),
    }
}

fn push_text(
    function: TextFunction,
    field: Field,
    text: &str,
    sql: &mut String,
    args: &mut Vec<Value>,
) {
    let col = column(field);
    // substr() and length() count characters, as chars() does.
    let chars = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
    let needle = Value::Text(text.to_owned());
    match function {
        // Every text starts and ends with the empty text.
        TextFunction::StartsWith | TextFunction::EndsWith if chars == 0 => sql.push_str("(1)"),
        TextFunction::StartsWith => {
            sql.push_str(&format!("(substr({col}, 1, ?) = ?)"));
            args.extend([Value::Integer(chars), needle]);
        }
        TextFunction::EndsWith => {
            sql.push_str(&format!("(substr({col}, -?) = ?)"));
            args.extend([Value::Integer(chars), needle]);
        }
        TextFunction::Contains => {
            sql.push_str(&format!("(instr({col}, ?) > 0)"));
            args.push(needle);
        }
    }
}

fn push_compare(
    field: Field,
    op: CompareOp,
    value: &Literal,
    sql: &mut String,
    args: &mut Vec<Value>,
) {
    let negate = op == CompareOp::Ne;
    let not = if negate { "NOT " } else { "" };
    match (field, value) {
        (Field::RbacGroupIds, Literal::Number(id)) => {
            sql.push_str(&format!(
                "({not}EXISTS (SELECT 1 FROM json_each(indicators.groups) \
                 JOIN device_groups ON device_groups.name = json_each.value \
                 WHERE device_groups.id = ?))"
            ));
            args.push(Value::Integer(*id));
        }
        (Field::RbacGroupNames | Field::RbacGroupIds, _) => {
            sql.push_str(&format!(
                "({not}EXISTS (SELECT 1 FROM json_each(indicators.groups) \
                 WHERE json_each.value = ?))"
            ));
            args.push(bound(value));
        }
        // The name as submitted and shown (`Block` is not `AlertAndBlock`), as MDE compares.
        (Field::Action, Literal::Action { action, alert }) => {
            sql.push_str(&format!("({not}action_name = ?)"));
            args.push(Value::Text(
                Literal::action_name(*action, *alert).to_owned(),
            ));
        }
        (Field::IndicatorType, Literal::Text(t)) => {
            // Case-insensitive, as MDE's enum-like fields are; every indicator is an address.
            let matches = t.eq_ignore_ascii_case("IpAddress");
            sql.push_str(if matches != negate { "(1)" } else { "(0)" });
        }
        (Field::ExpirationTime, _) if op.is_equality() => {
            // IS and IS NOT treat NULL as a value: `ne` holds for "never expires".
            let is = if negate { "IS NOT" } else { "IS" };
            sql.push_str(&format!("(expires_at {is} ?)"));
            args.push(bound(value));
        }
        (Field::ExpirationTime, _) => {
            sql.push_str(&format!(
                "(expires_at IS NOT NULL AND expires_at {} ?)",
                sql_op(op)
            ));
            args.push(bound(value));
        }
        _ => {
            sql.push_str(&format!("({} {} ?)", column(field), sql_op(op)));
            args.push(bound(value));
        }
    }
}
