//! A parsed `$filter` of the indicators list, as PostgreSQL: a `WHERE` condition whose values
//! are all bound, typed parameters (the columns, and the `ORDER BY` of an `$orderby`, are
//! `indicator_sql.rs`, which both backends share). The meaning of every field is the SQLite backend's (`sqlite/odata.rs`); the
//! indicator columns use the "C" collation, so text compares and sorts by bytes there too.
//!
//! Every condition is true or false, never NULL (the one nullable column, `expires_at`, is
//! compared with `IS [NOT] DISTINCT FROM` or guarded), so `not` is plain negation, as in OData.

use netward_model::odata::{CompareOp, Field, Filter, Literal, TextFunction};

use super::indicator_query::Args;
use crate::store::indicator_sql::{column, rank, sql_op};

/// Binds a literal; its placeholder.
fn bound(value: &Literal, args: &mut Args) -> String {
    match value {
        Literal::Text(t) => args.text(t.as_str()),
        Literal::Number(n) | Literal::Time(n) => args.int(*n),
        Literal::Bool(b) => args.push(*b, "boolean"),
        Literal::Null => args.push(None::<i64>, "bigint"),
        Literal::Address(v) => args.text(v.to_string()),
        Literal::Action { action, .. } => args.text(action.as_str()),
        Literal::Severity(s) => args.int(rank(*s)),
    }
}

/// Appends `filter` to `sql` as one parenthesised condition, binding its values into `args`.
pub(super) fn push_filter(filter: &Filter, sql: &mut String, args: &mut Args) {
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

fn push_text(function: TextFunction, field: Field, text: &str, sql: &mut String, args: &mut Args) {
    let col = column(field);
    // left(), right() and strpos() count characters, as chars() does.
    let chars = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
    match function {
        // Every text starts and ends with the empty text.
        TextFunction::StartsWith | TextFunction::EndsWith if chars == 0 => sql.push_str("(TRUE)"),
        TextFunction::StartsWith => {
            let n = args.push(i32::try_from(chars).unwrap_or(i32::MAX), "integer");
            sql.push_str(&format!("(left({col}, {n}) = {})", args.text(text)));
        }
        TextFunction::EndsWith => {
            let n = args.push(i32::try_from(chars).unwrap_or(i32::MAX), "integer");
            sql.push_str(&format!("(right({col}, {n}) = {})", args.text(text)));
        }
        TextFunction::Contains => {
            sql.push_str(&format!("(strpos({col}, {}) > 0)", args.text(text)));
        }
    }
}

fn push_compare(field: Field, op: CompareOp, value: &Literal, sql: &mut String, args: &mut Args) {
    let negate = op == CompareOp::Ne;
    let not = if negate { "NOT " } else { "" };
    match (field, value) {
        (Field::RbacGroupIds, Literal::Number(id)) => {
            sql.push_str(&format!(
                "({not}EXISTS (SELECT 1 FROM jsonb_array_elements_text(indicators.groups::jsonb) \
                 AS scope(name) JOIN device_groups ON device_groups.name = scope.name \
                 WHERE device_groups.id = {}))",
                args.int(*id)
            ));
        }
        (Field::RbacGroupNames | Field::RbacGroupIds, _) => {
            sql.push_str(&format!(
                "({not}EXISTS (SELECT 1 FROM jsonb_array_elements_text(indicators.groups::jsonb) \
                 AS scope(name) WHERE scope.name = {}))",
                bound(value, args)
            ));
        }
        // The name as submitted and shown (`Block` is not `AlertAndBlock`), as MDE compares.
        (Field::Action, Literal::Action { action, alert }) => {
            let name = args.text(Literal::action_name(*action, *alert));
            sql.push_str(&format!("({not}action_name = {name})"));
        }
        (Field::IndicatorType, Literal::Text(t)) => {
            // Case-insensitive, as MDE's enum-like fields are; every indicator is an address.
            let matches = t.eq_ignore_ascii_case("IpAddress");
            sql.push_str(if matches != negate {
                "(TRUE)"
            } else {
                "(FALSE)"
            });
        }
        (Field::ExpirationTime, _) if op.is_equality() => {
            // NULL is a value here: `ne` holds for "never expires".
            let is = if negate {
                "IS DISTINCT FROM"
            } else {
                "IS NOT DISTINCT FROM"
            };
            sql.push_str(&format!("(expires_at {is} {})", bound(value, args)));
        }
        (Field::ExpirationTime, _) => {
            sql.push_str(&format!(
                "(expires_at IS NOT NULL AND expires_at {} {})",
                sql_op(op),
                bound(value, args)
            ));
        }
        _ => {
            sql.push_str(&format!(
                "({} {} {})",
                column(field),
                sql_op(op),
                bound(value, args)
            ));
        }
    }
}
