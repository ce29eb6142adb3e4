//! The `$filter` grammar: text to tokens to a [`Filter`] of field names as written.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Clause, Filter, Literal, ODataError, Op};

/// Longest `$filter` read (characters): longer ones are refused before parsing.
const MAX_FILTER_LEN: usize = 4096;

/// Deepest nesting of parentheses and `not`.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Comma,
    Str(String),
    Word(String),
}

fn tokenize(s: &str) -> Result<Vec<(usize, Tok)>, ODataError> {
    let mut out = vec![];
    let mut it = s.char_indices().peekable();
    while let Some((at, c)) = it.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => out.push((at, Tok::Open)),
            ')' => out.push((at, Tok::Close)),
            ',' => out.push((at, Tok::Comma)),
            '\'' => {
                let mut text = String::new();
                loop {
                    match it.next() {
                        Some((_, '\'')) => {
                            if matches!(it.peek(), Some((_, '\''))) {
                                it.next();
                                text.push('\'');
                            } else {
                                break;
                            }
                        }
                        Some((_, c)) => text.push(c),
                        None => {
                            return Err(ODataError::Syntax {
                                at,
                                expected: "a closing quote",
                            })
                        }
                    }
                }
                out.push((at, Tok::Str(text)));
            }
            c => {
                let mut word = String::from(c);
                while let Some((_, c)) = it.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | ',' | '\'') {
                        break;
                    }
                    word.push(*c);
                    it.next();
                }
                out.push((at, Tok::Word(word)));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

fn keyword(t: &Tok, k: &str) -> bool {
    matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case(k))
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(at, _)| *at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(_, t)| t.clone());
        if t.is_some() {
            self.pos = self.pos.saturating_add(1);
        }
        t
    }

    fn fail<T>(&self, expected: &'static str) -> Result<T, ODataError> {
        Err(ODataError::Syntax {
            at: self.at(),
            expected,
        })
    }

    fn expect(&mut self, want: &Tok, expected: &'static str) -> Result<(), ODataError> {
        if self.peek() == Some(want) {
            self.next();
            Ok(())
        } else {
            self.fail(expected)
        }
    }

    fn or(&mut self, depth: usize) -> Result<Filter, ODataError> {
        let mut parts = vec![self.and(depth)?];
        while self.peek().is_some_and(|t| keyword(t, "or")) {
            self.next();
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Filter, ODataError> {
        let mut parts = vec![self.unary(depth)?];
        while self.peek().is_some_and(|t| keyword(t, "and")) {
            self.next();
            parts.push(self.unary(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, ODataError> {
        if depth >= MAX_DEPTH {
            return Err(ODataError::TooComplex);
        }
        let depth = depth.saturating_add(1);
        match self.peek() {
            Some(t) if keyword(t, "not") => {
                self.next();
                Ok(Filter::Not(Box::new(self.unary(depth)?)))
            }
            Some(Tok::Open) => {
                self.next();
                let inner = self.or(depth)?;
                self.expect(&Tok::Close, "')'")?;
                Ok(inner)
            }
            Some(t) if keyword(t, "startswith") => {
                self.next();
                self.expect(&Tok::Open, "'(' after startswith")?;
                let field = self.path()?;
                self.expect(&Tok::Comma, "',' between startswith's arguments")?;
                let prefix = match self.next() {
                    Some(Tok::Str(s)) => s,
                    _ => return self.fail("a quoted prefix"),
                };
                self.expect(&Tok::Close, "')' after startswith's arguments")?;
                Ok(Filter::Clause(Clause {
                    field,
                    op: Op::StartsWith,
                    values: vec![Literal::Text(prefix)],
                }))
            }
            _ => self.comparison(),
        }
    }

    fn path(&mut self) -> Result<String, ODataError> {
        match self.next() {
            Some(Tok::Word(w))
                if w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && w.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '_') =>
            {
                Ok(w)
            }
            _ => {
                self.pos = self.pos.saturating_sub(1);
                self.fail("a property name")
            }
        }
    }

    fn comparison(&mut self) -> Result<Filter, ODataError> {
        let field = self.path()?;
        let op = match self.next() {
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                "in" => Op::In,
                _ => {
                    self.pos = self.pos.saturating_sub(1);
                    return self.fail("an operator (eq, ne, gt, ge, lt, le, in)");
                }
            },
            _ => return self.fail("an operator (eq, ne, gt, ge, lt, le, in)"),
        };
        let values = if op == Op::In {
            self.expect(&Tok::Open, "'(' after in")?;
            let mut values = vec![self.literal()?];
            while self.peek() == Some(&Tok::Comma) {
                self.next();
                values.push(self.literal()?);
            }
            self.expect(&Tok::Close, "')' after the values of in")?;
            values
        } else {
            vec![self.literal()?]
        };
        Ok(Filter::Clause(Clause { field, op, values }))
    }

    fn literal(&mut self) -> Result<Literal, ODataError> {
        let at = self.at();
        let bad = ODataError::Syntax {
            at,
            expected:
                "a value: a quoted string, a number, true, false, null, a date and time or a GUID",
        };
        match self.next() {
            Some(Tok::Str(s)) => Ok(Literal::Text(s)),
            Some(Tok::Word(w)) => {
                let lower = w.to_ascii_lowercase();
                match lower.as_str() {
                    "true" => return Ok(Literal::Bool(true)),
                    "false" => return Ok(Literal::Bool(false)),
                    "null" => return Ok(Literal::Null),
                    _ => {}
                }
                if let Ok(i) = w.parse::<i64>() {
                    return Ok(Literal::Int(i));
                }
                if let Ok(g) = Uuid::parse_str(&w) {
                    return Ok(Literal::Guid(g));
                }
                OffsetDateTime::parse(&w, &time::format_description::well_known::Rfc3339)
                    .map(Literal::DateTime)
                    .map_err(|_| bad)
            }
            _ => Err(bad),
        }
    }
}

/// Parses a `$filter`.
pub(crate) fn parse_filter(s: &str) -> Result<Filter, ODataError> {
    if s.chars().count() > MAX_FILTER_LEN {
        return Err(ODataError::TooComplex);
    }
    let mut p = Parser {
        toks: tokenize(s)?,
        pos: 0,
        end: s.len(),
    };
    if p.peek().is_none() {
        return p.fail("a condition");
    }
    let f = p.or(0)?;
    if p.peek().is_some() {
        return p.fail("'and', 'or' or the end of the filter");
    }
    Ok(f)
}
