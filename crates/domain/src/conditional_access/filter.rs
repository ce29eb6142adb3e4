//! Application filter rules (graph-api.md §5.3): `CustomSecurityAttribute.Set_Name -eq "v"`,
//! `-contains "v"`, `-in ["a","b"]`, negated with `-ne`/`-notContains`/`-notIn`, combined with
//! `-and` / `-or` and parentheses. Only string attributes match, as in Entra.

use crate::application::{AttributeValue, CustomSecurityAttributes};

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Both.
    And(Box<Rule>, Box<Rule>),
    /// Either.
    Or(Box<Rule>, Box<Rule>),
    /// One comparison.
    Test {
        /// Attribute set.
        set: String,
        /// Attribute name.
        name: String,
        /// Operator, lower case without the dash.
        op: String,
        /// Operand values.
        values: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    LBracket,
    RBracket,
    Comma,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = vec![];
    let mut it = s.chars().peekable();
    while let Some(&c) = it.peek() {
        match c {
            c if c.is_whitespace() => {
                it.next();
            }
            '(' | ')' | '[' | ']' | ',' => {
                it.next();
                out.push(match c {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    _ => Tok::Comma,
                });
            }
            '"' => {
                it.next();
                let mut v = String::new();
                loop {
                    match it.next() {
                        Some('"') => break,
                        Some(ch) => v.push(ch),
                        None => return Err("a string is not closed (\")".into()),
                    }
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let mut w = String::new();
                while let Some(&ch) = it.peek() {
                    if ch.is_whitespace() || "()[],\"".contains(ch) {
                        break;
                    }
                    w.push(ch);
                    it.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

const OPS: [&str; 6] = ["eq", "ne", "contains", "notcontains", "in", "notin"];

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }
    fn or(&mut self) -> Result<Rule, String> {
        let mut left = self.and()?;
        while self.keyword("-or") {
            self.pos += 1;
            left = Rule::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Rule, String> {
        let mut left = self.atom()?;
        while self.keyword("-and") {
            self.pos += 1;
            left = Rule::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }
    fn atom(&mut self) -> Result<Rule, String> {
        match self.next() {
            Some(Tok::Open) => {
                let r = self.or()?;
                match self.next() {
                    Some(Tok::Close) => Ok(r),
                    _ => Err("a '(' is not closed".into()),
                }
            }
            Some(Tok::Word(attr)) => {
                let path = attr.strip_prefix("CustomSecurityAttribute.").or_else(|| attr.strip_prefix("customSecurityAttribute.")).ok_or_else(|| format!("'{attr}': only CustomSecurityAttribute.<Set>_<Name> can be filtered on"))?;
                let (set, name) = path.split_once('_').ok_or_else(|| {
                    format!("'{attr}': write CustomSecurityAttribute.<Set>_<Name>")
                })?;
                let op = match self.next() {
                    Some(Tok::Word(o)) if o.starts_with('-') && OPS.contains(&o[1..].to_ascii_lowercase().as_str()) => o[1..].to_ascii_lowercase(),
                    other => return Err(format!("expected an operator (-eq, -ne, -contains, -notContains, -in, -notIn) after '{attr}', found {other:?}")),
                };
                let values = if op.ends_with("in") {
                    if self.next() != Some(Tok::LBracket) {
                        return Err(format!("-{op} takes a list: [\"a\", \"b\"]"));
                    }
                    let mut v = vec![];
                    loop {
                        match self.next() {
                            Some(Tok::Str(s)) => v.push(s),
                            Some(Tok::RBracket) if v.is_empty() => break,
                            other => {
                                return Err(format!(
                                    "expected a string in the list, found {other:?}"
                                ))
                            }
                        }
                        match self.next() {
                            Some(Tok::Comma) => {}
                            Some(Tok::RBracket) => break,
                            other => return Err(format!("expected ',' or ']', found {other:?}")),
                        }
                    }
                    v
                } else {
                    match self.next() {
                        Some(Tok::Str(s)) => vec![s],
                        other => {
                            return Err(format!(
                                "expected a quoted value after -{op}, found {other:?}"
                            ))
                        }
                    }
                };
                Ok(Rule::Test {
                    set: set.into(),
                    name: name.into(),
                    op,
                    values,
                })
            }
            other => Err(format!("expected an attribute or '(', found {other:?}")),
        }
    }
}

/// Parses a rule; the error says what is wrong and where.
pub fn parse(rule: &str) -> Result<Rule, String> {
    if rule.len() > 3072 {
        return Err("the rule is longer than 3072 characters".into());
    }
    let mut p = Parser {
        toks: lex(rule)?,
        pos: 0,
    };
    let r = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected {:?} after a complete rule", p.peek()));
    }
    Ok(r)
}

impl Rule {
    /// Whether an application with these attributes matches.
    pub fn matches(&self, attrs: &CustomSecurityAttributes) -> bool {
        match self {
            Rule::And(a, b) => a.matches(attrs) && b.matches(attrs),
            Rule::Or(a, b) => a.matches(attrs) || b.matches(attrs),
            Rule::Test {
                set,
                name,
                op,
                values,
            } => {
                let value: Vec<&str> = match attrs.get(set).and_then(|s| s.get(name)) {
                    Some(AttributeValue::Text(t)) => vec![t.as_str()],
                    Some(AttributeValue::TextList(l)) => l.iter().map(String::as_str).collect(),
                    _ => vec![],
                };
                let eq = |v: &str| value.iter().any(|x| x.eq_ignore_ascii_case(v));
                match op.as_str() {
                    "eq" => values.first().is_some_and(|v| eq(v)),
                    "ne" => !values.first().is_some_and(|v| eq(v)),
                    "contains" => values.first().is_some_and(|v| {
                        value
                            .iter()
                            .any(|x| x.to_lowercase().contains(&v.to_lowercase()))
                    }),
                    "notcontains" => !values.first().is_some_and(|v| {
                        value
                            .iter()
                            .any(|x| x.to_lowercase().contains(&v.to_lowercase()))
                    }),
                    "in" => values.iter().any(|v| eq(v)),
                    "notin" => !values.iter().any(|v| eq(v)),
                    _ => false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(v: &str) -> CustomSecurityAttributes {
        let mut a = CustomSecurityAttributes::new();
        a.entry("Rollout".into())
            .or_default()
            .insert("Tier".into(), AttributeValue::Text(v.into()));
        a
    }

    #[test]
    fn rules_parse_and_match_string_attributes() {
        let r = parse(r#"CustomSecurityAttribute.Rollout_Tier -eq "passkey""#).unwrap();
        assert!(
            r.matches(&attrs("passkey"))
                && !r.matches(&attrs("legacy"))
                && !r.matches(&CustomSecurityAttributes::new())
        );
        let r = parse(r#"(CustomSecurityAttribute.Rollout_Tier -in ["a", "b"]) -or CustomSecurityAttribute.Rollout_Tier -contains "pass""#).unwrap();
        assert!(r.matches(&attrs("b")) && r.matches(&attrs("passkey")) && !r.matches(&attrs("c")));
        let r = parse(r#"CustomSecurityAttribute.Rollout_Tier -ne "x" -and CustomSecurityAttribute.Rollout_Tier -notIn ["y"]"#).unwrap();
        assert!(r.matches(&attrs("z")) && !r.matches(&attrs("y")));
        for bad in [
            "",
            "Rollout_Tier -eq \"x\"",
            "CustomSecurityAttribute.Rollout_Tier -like \"x\"",
            "CustomSecurityAttribute.Rollout_Tier -eq x",
            "(CustomSecurityAttribute.A_B -eq \"x\"",
            "CustomSecurityAttribute.A_B -in [\"x\"",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
