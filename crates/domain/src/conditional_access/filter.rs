//! Filter rules (graph-api.md §5.3): `CustomSecurityAttribute.Set_Name -eq "v"` for
//! applications and `device.<property> -eq "v"` for devices; `-contains`, `-startsWith`,
//! `-endsWith`, `-in ["a","b"]`, each negated with `-ne`/`-notContains`/`-notStartsWith`/
//! `-notEndsWith`/`-notIn`, combined with `-and` / `-or` and parentheses. Only string
//! attributes match, as in Entra. A missing value (an app without the attribute, a sign-in
//! from no known device) fails every positive test and passes every negative one, which is
//! how Entra treats unregistered devices.

use crate::application::{AttributeValue, CustomSecurityAttributes};
use crate::device::{filter_property, DeviceFacts, FILTER_PROPERTIES};

/// What a rule filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Applications, by custom security attributes.
    Applications,
    /// Devices, by their properties.
    Devices,
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Both.
    And(Box<Rule>, Box<Rule>),
    /// Either.
    Or(Box<Rule>, Box<Rule>),
    /// One comparison.
    Test {
        /// Attribute set (`device` for device properties).
        set: String,
        /// Attribute name (for devices, the property's canonical spelling).
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
    target: Target,
}

const OPS: [&str; 10] = [
    "eq",
    "ne",
    "contains",
    "notcontains",
    "startswith",
    "notstartswith",
    "endswith",
    "notendswith",
    "in",
    "notin",
];

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos = self.pos.saturating_add(1);
        t
    }
    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }
    fn or(&mut self) -> Result<Rule, String> {
        let mut left = self.and()?;
        while self.keyword("-or") {
            self.pos = self.pos.saturating_add(1);
            left = Rule::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Rule, String> {
        let mut left = self.atom()?;
        while self.keyword("-and") {
            self.pos = self.pos.saturating_add(1);
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
                let (set, name) = match self.target {
                    Target::Applications => {
                        let path = attr.strip_prefix("CustomSecurityAttribute.").or_else(|| attr.strip_prefix("customSecurityAttribute.")).ok_or_else(|| format!("'{attr}': only CustomSecurityAttribute.<Set>_<Name> can be filtered on"))?;
                        let (set, name) = path.split_once('_').ok_or_else(|| {
                            format!("'{attr}': write CustomSecurityAttribute.<Set>_<Name>")
                        })?;
                        (set.to_string(), name.to_string())
                    }
                    Target::Devices => {
                        let prop = attr
                            .strip_prefix("device.")
                            .or_else(|| attr.strip_prefix("Device."))
                            .ok_or_else(|| format!("'{attr}': write device.<property>"))?;
                        let name = filter_property(prop).ok_or_else(|| {
                            format!(
                                "'{attr}': device filters can name {}",
                                FILTER_PROPERTIES.join(", ")
                            )
                        })?;
                        ("device".to_string(), name)
                    }
                };
                let op = match self.next() {
                    Some(Tok::Word(o)) if o.starts_with('-') && OPS.contains(&o[1..].to_ascii_lowercase().as_str()) => o[1..].to_ascii_lowercase(),
                    other => return Err(format!("expected an operator (-eq, -ne, -contains, -notContains, -startsWith, -notStartsWith, -endsWith, -notEndsWith, -in, -notIn) after '{attr}', found {other:?}")),
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
                        // Booleans are bare words in device rules: `device.isCompliant -eq True`.
                        Some(Tok::Word(w))
                            if self.target == Target::Devices
                                && (w.eq_ignore_ascii_case("true")
                                    || w.eq_ignore_ascii_case("false")) =>
                        {
                            vec![w]
                        }
                        other => {
                            return Err(format!(
                                "expected a quoted value after -{op}, found {other:?}"
                            ))
                        }
                    }
                };
                Ok(Rule::Test {
                    set,
                    name,
                    op,
                    values,
                })
            }
            other => Err(format!("expected an attribute or '(', found {other:?}")),
        }
    }
}

/// Parses an application filter rule; the error says what is wrong and where.
pub fn parse(rule: &str) -> Result<Rule, String> {
    parse_for(rule, Target::Applications)
}

/// Parses a device filter rule; the error says what is wrong and where.
pub fn parse_device(rule: &str) -> Result<Rule, String> {
    parse_for(rule, Target::Devices)
}

fn parse_for(rule: &str, target: Target) -> Result<Rule, String> {
    if rule.len() > 3072 {
        return Err("the rule is longer than 3072 characters".into());
    }
    let mut p = Parser {
        toks: lex(rule)?,
        pos: 0,
        target,
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
        self.holds(
            &|set, name| match attrs.get(set).and_then(|s| s.get(name)) {
                Some(AttributeValue::Text(t)) => vec![t.as_str()],
                Some(AttributeValue::TextList(l)) => l.iter().map(String::as_str).collect(),
                _ => vec![],
            },
        )
    }

    /// Whether the sign-in's device matches (`None`: no device proved, every property null).
    pub fn matches_device(&self, device: Option<&DeviceFacts>) -> bool {
        self.holds(&|_, name| device.and_then(|d| d.get(name)).into_iter().collect())
    }

    fn holds<'v>(&self, value_of: &dyn Fn(&str, &str) -> Vec<&'v str>) -> bool {
        match self {
            Rule::And(a, b) => a.holds(value_of) && b.holds(value_of),
            Rule::Or(a, b) => a.holds(value_of) || b.holds(value_of),
            Rule::Test {
                set,
                name,
                op,
                values,
            } => {
                let actual = value_of(set, name);
                let lower: Vec<String> = actual.iter().map(|x| x.to_lowercase()).collect();
                let first = values.first().map(|v| v.to_lowercase());
                let any = |f: &dyn Fn(&str, &str) -> bool| {
                    first
                        .as_deref()
                        .is_some_and(|v| lower.iter().any(|x| f(x, v)))
                };
                let eq = |v: &str| actual.iter().any(|x| x.eq_ignore_ascii_case(v));
                match op.as_str() {
                    "eq" => values.first().is_some_and(|v| eq(v)),
                    "ne" => !values.first().is_some_and(|v| eq(v)),
                    "contains" => any(&|x, v| x.contains(v)),
                    "notcontains" => !any(&|x, v| x.contains(v)),
                    "startswith" => any(&|x, v| x.starts_with(v)),
                    "notstartswith" => !any(&|x, v| x.starts_with(v)),
                    "endswith" => any(&|x, v| x.ends_with(v)),
                    "notendswith" => !any(&|x, v| x.ends_with(v)),
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

    fn saw(attr: &str, compliant: bool) -> DeviceFacts {
        DeviceFacts {
            values: [
                ("extensionAttribute1".to_string(), attr.to_string()),
                ("trustType".to_string(), "AzureAD".to_string()),
            ]
            .into(),
            is_compliant: compliant,
        }
    }

    /// Device filters (graph-api.md §5.3): properties by name, booleans as bare words, and no
    /// device at all treated as every property null.
    #[test]
    fn device_rules_parse_and_treat_an_unknown_device_as_null() {
        let r = parse_device(
            r#"device.extensionAttribute1 -eq "SAW" -and device.isCompliant -eq True"#,
        )
        .unwrap();
        assert!(r.matches_device(Some(&saw("SAW", true))));
        assert!(
            !r.matches_device(Some(&saw("SAW", false)))
                && !r.matches_device(Some(&saw("laptop", true)))
                && !r.matches_device(None)
        );
        let r = parse_device(r#"device.trustType -ne "AzureAD""#).unwrap();
        assert!(
            r.matches_device(None),
            "a negative test passes for no device"
        );
        assert!(!r.matches_device(Some(&saw("x", false))));
        let r = parse_device(
            r#"device.displayName -startsWith "saw-" -or device.model -endsWith "book""#,
        )
        .unwrap();
        let named = |k: &str, v: &str| DeviceFacts {
            values: [(k.to_string(), v.to_string())].into(),
            is_compliant: false,
        };
        assert!(
            r.matches_device(Some(&named("displayName", "SAW-07")))
                && r.matches_device(Some(&named("model", "MacBook")))
                && !r.matches_device(Some(&named("model", "Pixel")))
        );
        assert!(parse_device(r#"device.model -notStartsWith "Pix""#)
            .unwrap()
            .matches_device(Some(&named("model", "iPhone"))));
        for bad in [
            r#"device.colour -eq "red""#,
            r#"extensionAttribute1 -eq "x""#,
            r#"device.extensionAttribute16 -eq "x""#,
            r#"CustomSecurityAttribute.A_B -eq "x""#,
            r#"device.model -eq Pixel"#,
        ] {
            assert!(parse_device(bad).is_err(), "{bad}");
        }
        assert!(
            parse(r#"device.model -eq "x""#).is_err(),
            "device properties are not application attributes"
        );
        assert!(
            parse("CustomSecurityAttribute.A_B -eq True").is_err(),
            "bare booleans only in device rules"
        );
    }
}
