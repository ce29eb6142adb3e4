//! The OData query options Graph lists take — `$filter`, `$top`, `$select` —
//! parsed once into typed values (issue 13, point 6). A list then checks a parsed filter
//! against its own fields ([`Schema`]); only a [`Checked`] filter reaches the list's code, so
//! every list refuses an unknown field, a wrong type or an operator it does not offer with
//! the same 400, naming what is wrong.
//!
//! Grammar (a subset of OData 4.01 §5.1.1, case-insensitive keywords):
//!
//! ```text
//! filter  = or
//! or      = and *( "or" and )
//! and     = unary *( "and" unary )
//! unary   = "not" unary / primary
//! primary = "(" or ")" / "startswith(" path "," string ")" / path "in" "(" literal *( "," literal ) ")"
//!         / path op literal
//! op      = "eq" / "ne" / "gt" / "ge" / "lt" / "le"
//! literal = string ('' for a quote) / integer / "true" / "false" / "null" / date-time / GUID
//! ```

use std::cmp::Ordering;
use time::OffsetDateTime;
use uuid::Uuid;

mod parse;
#[cfg(test)]
mod tests;

pub(crate) use parse::parse_filter;

/// A literal value in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `'text'` (a doubled quote stands for one).
    Text(String),
    /// An integer.
    Int(i64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An unquoted RFC 3339 date and time.
    DateTime(OffsetDateTime),
    /// An unquoted GUID.
    Guid(Uuid),
}

impl Literal {
    fn kind(&self) -> &'static str {
        match self {
            Literal::Text(_) => "a string",
            Literal::Int(_) => "a number",
            Literal::Bool(_) => "a Boolean",
            Literal::Null => "null",
            Literal::DateTime(_) => "a date and time",
            Literal::Guid(_) => "a GUID",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
    /// `startswith(field, 'prefix')`
    StartsWith,
    /// `field in (…)`
    In,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Le => "le",
            Op::StartsWith => "startswith",
            Op::In => "in",
        }
    }
}

/// One condition on one field: `K` is the field — its name as written in a parsed filter,
/// the list's own key once checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause<K> {
    /// The field.
    pub field: K,
    /// The operator.
    pub op: Op,
    /// The values (one, except for `in`).
    pub values: Vec<Literal>,
}

impl<K> Clause<K> {
    /// The single value of a comparison (`in` has several).
    pub fn value(&self) -> Option<&Literal> {
        match self.values.as_slice() {
            [v] => Some(v),
            _ => None,
        }
    }

    /// The value as text, when it is one.
    pub fn text(&self) -> Option<&str> {
        match self.value() {
            Some(Literal::Text(t)) => Some(t),
            _ => None,
        }
    }
}

/// A `$filter`: parsed (`K` = the field names as written) or checked (`K` = a list's keys).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter<K = String> {
    /// A condition.
    Clause(Clause<K>),
    /// `not …`
    Not(Box<Filter<K>>),
    /// `… and …`
    And(Vec<Filter<K>>),
    /// `… or …`
    Or(Vec<Filter<K>>),
}

/// Why a query option was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ODataError {
    /// The text is not a filter.
    #[error("Invalid $filter: {expected} at position {at}.")]
    Syntax {
        /// Character offset.
        at: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// The filter is too long (4,096 characters) or nested too deep (32 levels).
    #[error("The $filter is too long or too deeply nested.")]
    TooComplex,
    /// A field the list cannot be filtered on.
    #[error("'{field}' is not a property this list can be filtered on; use one of: {known}.")]
    UnknownField {
        /// As written.
        field: String,
        /// The list's filterable fields.
        known: String,
    },
    /// A value of the wrong type for its field.
    #[error("'{field}' takes {expected}, not {found}.")]
    WrongType {
        /// The field.
        field: String,
        /// The type it takes.
        expected: &'static str,
        /// What was given.
        found: &'static str,
    },
    /// An operator the field does not offer.
    #[error("'{field}' cannot be filtered with '{op}'; it takes: {offered}.")]
    Operator {
        /// The field.
        field: String,
        /// The operator.
        op: &'static str,
        /// The operators it offers.
        offered: String,
    },
    /// A construct this list does not offer (`or`, `not`, a field twice…).
    #[error("This list does not support {0} in $filter.")]
    Unsupported(&'static str),
    /// A `$top` out of range.
    #[error("Invalid page size specified: '{given}'. Must be between 1 and {max} inclusive.")]
    Top {
        /// As given.
        given: String,
        /// The list's maximum.
        max: i64,
    },
    /// A `$select` that names no property.
    #[error("Invalid $select: '{0}'.")]
    Select(String),
}

impl ODataError {
    /// Graph's error code for it.
    pub fn code(&self) -> &'static str {
        match self {
            ODataError::Syntax { .. } | ODataError::Select(_) => "BadRequest",
            ODataError::Top { .. } => "Request_BadRequest",
            _ => "Request_UnsupportedQuery",
        }
    }
}

/// The type of a filterable field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Compared with quoted strings.
    Text,
    /// Compared with integers.
    Int,
    /// Compared with unquoted RFC 3339 date-times.
    DateTime,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Text => "a quoted string",
            Kind::Int => "a number",
            Kind::DateTime => "a date and time (RFC 3339, unquoted)",
        }
    }

    fn takes(self, v: &Literal) -> bool {
        matches!(
            (self, v),
            (Kind::Text, Literal::Text(_))
                | (Kind::Int, Literal::Int(_))
                | (Kind::DateTime, Literal::DateTime(_))
        )
    }
}

/// A field a list can be filtered on.
#[derive(Debug, Clone, Copy)]
pub struct Field<K: 'static> {
    /// Its name as Graph spells it (matched case-insensitively).
    pub name: &'static str,
    /// The list's key for it.
    pub key: K,
    /// Its type.
    pub kind: Kind,
    /// The operators it offers.
    pub ops: &'static [Op],
}

/// What one list offers in `$filter`.
#[derive(Debug, Clone, Copy)]
pub struct Schema<K: 'static> {
    /// Filterable fields.
    pub fields: &'static [Field<K>],
    /// Whether `or` and `not` may combine conditions (otherwise only `and`).
    pub any_logic: bool,
}

/// A filter checked against a list's schema: the only kind a list's code is given.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<K>(Filter<K>);

impl<K: Copy + PartialEq> Checked<K> {
    /// The conditions of a filter that is one condition or their conjunction (a schema
    /// without `any_logic` lets nothing else through).
    pub fn clauses(&self) -> Vec<&Clause<K>> {
        fn walk<'a, K>(f: &'a Filter<K>, out: &mut Vec<&'a Clause<K>>) {
            match f {
                Filter::Clause(c) => out.push(c),
                Filter::And(parts) => parts.iter().for_each(|p| walk(p, out)),
                Filter::Or(_) | Filter::Not(_) => {}
            }
        }
        let mut out = vec![];
        walk(&self.0, &mut out);
        out
    }

    /// Whether an item whose fields read `value_of` passes (for lists filtered in memory).
    /// Text compares without regard to case, as Graph does.
    pub fn matches(&self, value_of: &impl Fn(K) -> Literal) -> bool {
        fn eval<K: Copy>(f: &Filter<K>, value_of: &impl Fn(K) -> Literal) -> bool {
            match f {
                Filter::Clause(c) => {
                    let have = value_of(c.field);
                    match c.op {
                        Op::In => c
                            .values
                            .iter()
                            .any(|v| compare(&have, v) == Some(Ordering::Equal)),
                        Op::StartsWith => match (&have, c.values.first()) {
                            (Literal::Text(h), Some(Literal::Text(p))) => {
                                h.to_lowercase().starts_with(&p.to_lowercase())
                            }
                            _ => false,
                        },
                        op => c
                            .values
                            .first()
                            .and_then(|v| compare(&have, v))
                            .is_some_and(|o| match op {
                                Op::Eq => o == Ordering::Equal,
                                Op::Ne => o != Ordering::Equal,
                                Op::Gt => o == Ordering::Greater,
                                Op::Ge => o != Ordering::Less,
                                Op::Lt => o == Ordering::Less,
                                Op::Le => o != Ordering::Greater,
                                Op::In | Op::StartsWith => false,
                            }),
                    }
                }
                Filter::Not(inner) => !eval(inner, value_of),
                Filter::And(parts) => parts.iter().all(|p| eval(p, value_of)),
                Filter::Or(parts) => parts.iter().any(|p| eval(p, value_of)),
            }
        }
        eval(&self.0, value_of)
    }
}

/// How two values of one type compare; `None` across types, where every comparison is false.
fn compare(have: &Literal, want: &Literal) -> Option<Ordering> {
    match (have, want) {
        (Literal::Text(a), Literal::Text(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        (Literal::Int(a), Literal::Int(b)) => Some(a.cmp(b)),
        (Literal::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        (Literal::DateTime(a), Literal::DateTime(b)) => Some(a.cmp(b)),
        (Literal::Guid(a), Literal::Guid(b)) => Some(a.cmp(b)),
        (Literal::Null, Literal::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

impl<K: Copy> Schema<K> {
    /// Checks every condition of `f`: a known field (replaced by its key), an operator it
    /// offers, values of its type; `or`/`not` only where offered.
    pub fn check(&self, f: Filter) -> Result<Checked<K>, ODataError> {
        self.check_node(f).map(Checked)
    }

    /// Parses and checks `$filter` text.
    pub fn parse(&self, s: &str) -> Result<Checked<K>, ODataError> {
        self.check(parse_filter(s)?)
    }

    fn check_node(&self, f: Filter) -> Result<Filter<K>, ODataError> {
        match f {
            Filter::Clause(c) => self.check_clause(c).map(Filter::Clause),
            Filter::And(parts) => parts
                .into_iter()
                .map(|p| self.check_node(p))
                .collect::<Result<_, _>>()
                .map(Filter::And),
            Filter::Or(_) if !self.any_logic => Err(ODataError::Unsupported("'or'")),
            Filter::Not(_) if !self.any_logic => Err(ODataError::Unsupported("'not'")),
            Filter::Or(parts) => parts
                .into_iter()
                .map(|p| self.check_node(p))
                .collect::<Result<_, _>>()
                .map(Filter::Or),
            Filter::Not(inner) => Ok(Filter::Not(Box::new(self.check_node(*inner)?))),
        }
    }

    fn check_clause(&self, c: Clause<String>) -> Result<Clause<K>, ODataError> {
        let Some(field) = self
            .fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(&c.field))
        else {
            return Err(ODataError::UnknownField {
                field: c.field,
                known: self
                    .fields
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        if !field.ops.contains(&c.op) {
            return Err(ODataError::Operator {
                field: field.name.into(),
                op: c.op.name(),
                offered: field
                    .ops
                    .iter()
                    .map(|o| o.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if let Some(v) = c.values.iter().find(|v| !field.kind.takes(v)) {
            return Err(ODataError::WrongType {
                field: field.name.into(),
                expected: field.kind.name(),
                found: v.kind(),
            });
        }
        Ok(Clause {
            field: field.key,
            op: c.op,
            values: c.values,
        })
    }
}

/// Reads `$top`: 1 to `max`, `default` when absent.
pub fn top(given: Option<&str>, default: i64, max: i64) -> Result<i64, ODataError> {
    match given {
        None => Ok(default),
        Some(t) => t
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|t| (1..=max).contains(t))
            .ok_or_else(|| ODataError::Top {
                given: t.into(),
                max,
            }),
    }
}

/// Reads `$select`: property names, comma-separated (lower-cased for matching).
pub fn select(given: &str) -> Result<Vec<String>, ODataError> {
    given
        .split(',')
        .map(|p| {
            let p = p.trim();
            if p.is_empty()
                || !p
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/')
            {
                Err(ODataError::Select(p.into()))
            } else {
                Ok(p.to_ascii_lowercase())
            }
        })
        .collect()
}
