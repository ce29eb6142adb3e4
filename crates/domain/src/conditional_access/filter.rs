//! Filter rules (graph-api.md §5.3): `CustomSecurityAttribute.Set_Name -eq "v"` for
//! applications and `device.<property> -eq "v"` for devices; `-contains`, `-startsWith`,
//! `-endsWith`, `-in ["a","b"]`, each negated with `-ne`/`-notContains`/`-notStartsWith`/
//! `-notEndsWith`/`-notIn`, combined with `-and` / `-or` and parentheses. Only string
//! attributes match, as in Entra. A missing value (an app without the attribute, a sign-in
//! from no known device) fails every positive test and passes every negative one, which is
//! how Entra treats unregistered devices.

use crate::application::{AttributeValue, CustomSecurityAttributes};
use crate::device::{DeviceFacts, DeviceProperty, FILTER_PROPERTIES};

/// What a rule filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Applications, by custom security attributes.
    Applications,
    /// Devices, by their properties.
    Devices,
}

/// A comparison operator (`-eq`, `-notIn`, …), matched without regard to case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `-eq`.
    Eq,
    /// `-ne`.
    Ne,
    /// `-contains`.
    Contains,
    /// `-notContains`.
    NotContains,
    /// `-startsWith`.
    StartsWith,
    /// `-notStartsWith`.
    NotStartsWith,
    /// `-endsWith`.
    EndsWith,
    /// `-notEndsWith`.
    NotEndsWith,
    /// `-in`.
    In,
    /// `-notIn`.
    NotIn,
}

impl Op {
    const ALL: [(&'static str, Op); 10] = [
        ("-eq", Op::Eq),
        ("-ne", Op::Ne),
        ("-contains", Op::Contains),
        ("-notContains", Op::NotContains),
        ("-startsWith", Op::StartsWith),
        ("-notStartsWith", Op::NotStartsWith),
        ("-endsWith", Op::EndsWith),
        ("-notEndsWith", Op::NotEndsWith),
        ("-in", Op::In),
        ("-notIn", Op::NotIn),
    ];

    fn parse(word: &str) -> Option<Op> {
        Op::ALL
            .iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(word))
            .map(|(_, op)| *op)
    }

    /// The operator as rules spell it.
    pub fn as_str(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("-eq", |(w, _)| w)
    }

    fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::NotIn)
    }

    /// The positive test this operator is or negates, and whether it negates.
    fn positive(self) -> (Positive, bool) {
        match self {
            Op::Eq => (Positive::Eq, false),
            Op::Ne => (Positive::Eq, true),
            Op::Contains => (Positive::Contains, false),
            Op::NotContains => (Positive::Contains, true),
            Op::StartsWith => (Positive::StartsWith, false),
            Op::NotStartsWith => (Positive::StartsWith, true),
            Op::EndsWith => (Positive::EndsWith, false),
            Op::NotEndsWith => (Positive::EndsWith, true),
            Op::In => (Positive::In, false),
            Op::NotIn => (Positive::In, true),
        }
    }
}

/// The tests that operators make or negate.
#[derive(Debug, Clone, Copy)]
enum Positive {
    Eq,
    Contains,
    StartsWith,
    EndsWith,
    In,
}

/// What a comparison reads: an application's custom security attribute, or a device property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// `CustomSecurityAttribute.{set}_{name}` (names an administrator chose).
    Custom {
        /// Attribute set.
        set: String,
        /// Attribute name.
        name: String,
    },
    /// `device.{property}`.
    Device(DeviceProperty),
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
        /// What is compared.
        attribute: Attribute,
        /// Operator.
        op: Op,
        /// Operand values.
        values: Vec<String>,
    },
}

/// Why a rule does not parse; each says what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Over Graph's length limit.
    #[error("the rule is longer than 3072 characters")]
    TooLong,
    /// A `"` without its closing one.
    #[error("a string is not closed (\")")]
    UnclosedString,
    /// A `(` without its `)`.
    #[error("a '(' is not closed")]
    UnclosedParen,
    /// An application rule naming something other than a custom security attribute.
    #[error("'{0}': only CustomSecurityAttribute.<Set>_<Name> can be filtered on")]
    NotAnAttribute(String),
    /// An attribute without its set.
    #[error("'{0}': write CustomSecurityAttribute.<Set>_<Name>")]
    AttributeWithoutSet(String),
    /// A device rule naming something other than a device property.
    #[error("'{0}': write device.<property>")]
    NotADeviceProperty(String),
    /// A device property filters cannot name.
    #[error("'{attribute}': device filters can name {}", FILTER_PROPERTIES.join(", "))]
    UnknownDeviceProperty {
        /// As written.
        attribute: String,
    },
    /// No operator where one belongs.
    #[error("expected an operator (-eq, -ne, -contains, -notContains, -startsWith, -notStartsWith, -endsWith, -notEndsWith, -in, -notIn) after '{attribute}', found {found}")]
    ExpectedOperator {
        /// The attribute before it.
        attribute: String,
        /// What was there instead.
        found: Found,
    },
    /// `-in`/`-notIn` without a list.
    #[error("{0} takes a list: [\"a\", \"b\"]")]
    ExpectedList(&'static str),
    /// Something else inside a list.
    #[error("expected a string in the list, found {0}")]
    ExpectedListString(Found),
    /// A list item not followed by `,` or `]`.
    #[error("expected ',' or ']', found {0}")]
    ExpectedListSeparator(Found),
    /// No value after an operator.
    #[error("expected a quoted value after {op}, found {found}")]
    ExpectedValue {
        /// The operator.
        op: &'static str,
        /// What was there instead.
        found: Found,
    },
    /// Neither an attribute nor `(`.
    #[error("expected an attribute or '(', found {0}")]
    ExpectedAttribute(Found),
    /// More after a complete rule.
    #[error("unexpected {0} after a complete rule")]
    Trailing(Found),
}

/// What the parser found where it expected something else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found(Option<Tok>);

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("the end of the rule"),
            Some(Tok::Word(w)) => write!(f, "'{w}'"),
            Some(Tok::Str(s)) => write!(f, "\"{s}\""),
            Some(Tok::Open) => f.write_str("'('"),
            Some(Tok::Close) => f.write_str("')'"),
            Some(Tok::LBracket) => f.write_str("'['"),
            Some(Tok::RBracket) => f.write_str("']'"),
            Some(Tok::Comma) => f.write_str("','"),
        }
    }
}

/// A token of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A bare word: an attribute, operator, keyword or boolean.
    Word(String),
    /// A quoted string.
    Str(String),
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// `[`.
    LBracket,
    /// `]`.
    RBracket,
    /// `,`.
    Comma,
}

fn lex(s: &str) -> Result<Vec<Tok>, FilterError> {
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
                        None => return Err(FilterError::UnclosedString),
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
    fn or(&mut self) -> Result<Rule, FilterError> {
        let mut left = self.and()?;
        while self.keyword("-or") {
            self.pos = self.pos.saturating_add(1);
            left = Rule::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Rule, FilterError> {
        let mut left = self.atom()?;
        while self.keyword("-and") {
            self.pos = self.pos.saturating_add(1);
            left = Rule::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }
    fn attribute(&self, attr: String) -> Result<Attribute, FilterError> {
        match self.target {
            Target::Applications => {
                let Some(path) = attr
                    .strip_prefix("CustomSecurityAttribute.")
                    .or_else(|| attr.strip_prefix("customSecurityAttribute."))
                else {
                    return Err(FilterError::NotAnAttribute(attr));
                };
                match path.split_once('_') {
                    Some((set, name)) => Ok(Attribute::Custom {
                        set: set.to_string(),
                        name: name.to_string(),
                    }),
                    None => Err(FilterError::AttributeWithoutSet(attr)),
                }
            }
            Target::Devices => {
                let Some(prop) = attr
                    .strip_prefix("device.")
                    .or_else(|| attr.strip_prefix("Device."))
                else {
                    return Err(FilterError::NotADeviceProperty(attr));
                };
                DeviceProperty::parse(prop)
                    .map(Attribute::Device)
                    .ok_or(FilterError::UnknownDeviceProperty { attribute: attr })
            }
        }
    }
    fn list(&mut self) -> Result<Vec<String>, FilterError> {
        let mut v = vec![];
        loop {
            match self.next() {
                Some(Tok::Str(s)) => v.push(s),
                Some(Tok::RBracket) if v.is_empty() => break,
                other => return Err(FilterError::ExpectedListString(Found(other))),
            }
            match self.next() {
                Some(Tok::Comma) => {}
                Some(Tok::RBracket) => break,
                other => return Err(FilterError::ExpectedListSeparator(Found(other))),
            }
        }
        Ok(v)
    }
    fn atom(&mut self) -> Result<Rule, FilterError> {
        match self.next() {
            Some(Tok::Open) => {
                let r = self.or()?;
                match self.next() {
                    Some(Tok::Close) => Ok(r),
                    _ => Err(FilterError::UnclosedParen),
                }
            }
            Some(Tok::Word(attr)) => {
                let attribute = self.attribute(attr.clone())?;
                let found = self.next();
                let Some(op) = found.as_ref().and_then(|t| match t {
                    Tok::Word(o) => Op::parse(o),
                    _ => None,
                }) else {
                    return Err(FilterError::ExpectedOperator {
                        attribute: attr,
                        found: Found(found),
                    });
                };
                let values = if op.takes_list() {
                    if self.next() != Some(Tok::LBracket) {
                        return Err(FilterError::ExpectedList(op.as_str()));
                    }
                    self.list()?
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
                            return Err(FilterError::ExpectedValue {
                                op: op.as_str(),
                                found: Found(other),
                            })
                        }
                    }
                };
                Ok(Rule::Test {
                    attribute,
                    op,
                    values,
                })
            }
            other => Err(FilterError::ExpectedAttribute(Found(other))),
        }
    }
}

/// Parses an application filter rule.
pub fn parse(rule: &str) -> Result<Rule, FilterError> {
    parse_for(rule, Target::Applications)
}

/// Parses a device filter rule.
pub fn parse_device(rule: &str) -> Result<Rule, FilterError> {
    parse_for(rule, Target::Devices)
}

fn parse_for(rule: &str, target: Target) -> Result<Rule, FilterError> {
    if rule.len() > 3072 {
        return Err(FilterError::TooLong);
    }
    let mut p = Parser {
        toks: lex(rule)?,
        pos: 0,
        target,
    };
    let r = p.or()?;
    if p.pos != p.toks.len() {
        return Err(FilterError::Trailing(Found(p.peek().cloned())));
    }
    Ok(r)
}

impl Rule {
    /// The rule in canonical form: parsing the text gives this rule back. Compound
    /// operands are parenthesised, so the tree survives the round trip — which makes the
    /// text longer than a rule written without them: a rule near the 3072-character limit
    /// may render past it, and then reads back as [`FilterError::TooLong`] (found by the
    /// rules fuzz target). Rules are stored as sent, so this bounds only the canonical form.
    pub fn render(&self) -> String {
        let operand = |r: &Rule| match r {
            Rule::Test { .. } => r.render(),
            _ => format!("({})", r.render()),
        };
        match self {
            Rule::And(a, b) => format!("{} -and {}", operand(a), operand(b)),
            Rule::Or(a, b) => format!("{} -or {}", operand(a), operand(b)),
            Rule::Test {
                attribute,
                op,
                values,
            } => {
                let attribute = match attribute {
                    Attribute::Custom { set, name } => {
                        format!("CustomSecurityAttribute.{set}_{name}")
                    }
                    Attribute::Device(p) => format!("device.{p}"),
                };
                let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
                let value = if op.takes_list() {
                    format!("[{}]", quoted.join(", "))
                } else {
                    quoted.join(" ")
                };
                format!("{attribute} {} {value}", op.as_str())
            }
        }
    }

    /// Whether an application with these attributes matches.
    pub fn matches(&self, attrs: &CustomSecurityAttributes) -> bool {
        self.holds(&|attribute| {
            let Attribute::Custom { set, name } = attribute else {
                return vec![];
            };
            match attrs.get(set).and_then(|s| s.get(name)) {
                Some(AttributeValue::Text(t)) => vec![t.as_str()],
                Some(AttributeValue::TextList(l)) => l.iter().map(String::as_str).collect(),
                _ => vec![],
            }
        })
    }

    /// Whether the sign-in's device matches (`None`: no device proved, every property null).
    pub fn matches_device(&self, device: Option<&DeviceFacts>) -> bool {
        self.holds(&|attribute| match attribute {
            Attribute::Device(p) => device.and_then(|d| d.get(*p)).into_iter().collect(),
            Attribute::Custom { .. } => vec![],
        })
    }

    fn holds<'v>(&self, value_of: &dyn Fn(&Attribute) -> Vec<&'v str>) -> bool {
        match self {
            Rule::And(a, b) => a.holds(value_of) && b.holds(value_of),
            Rule::Or(a, b) => a.holds(value_of) || b.holds(value_of),
            Rule::Test {
                attribute,
                op,
                values,
            } => {
                let actual = value_of(attribute);
                let lower: Vec<String> = actual.iter().map(|x| x.to_lowercase()).collect();
                let first = values.first().map(|v| v.to_lowercase());
                let any = |f: &dyn Fn(&str, &str) -> bool| {
                    first
                        .as_deref()
                        .is_some_and(|v| lower.iter().any(|x| f(x, v)))
                };
                let eq = |v: &str| actual.iter().any(|x| x.eq_ignore_ascii_case(v));
                let (positive, negated) = op.positive();
                let holds = match positive {
                    Positive::Eq => values.first().is_some_and(|v| eq(v)),
                    Positive::Contains => any(&|x, v| x.contains(v)),
                    Positive::StartsWith => any(&|x, v| x.starts_with(v)),
                    Positive::EndsWith => any(&|x, v| x.ends_with(v)),
                    Positive::In => values.iter().any(|v| eq(v)),
                };
                holds != negated
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
        // Errors are typed and say what was found where.
        assert_eq!(
            parse("CustomSecurityAttribute.A_B -like \"x\""),
            Err(FilterError::ExpectedOperator {
                attribute: "CustomSecurityAttribute.A_B".into(),
                found: Found(Some(Tok::Word("-like".into())))
            })
        );
        assert_eq!(
            parse("CustomSecurityAttribute.A_B -notin \"x\"")
                .unwrap_err()
                .to_string(),
            "-notIn takes a list: [\"a\", \"b\"]"
        );
        assert_eq!(
            parse("CustomSecurityAttribute.A_B -eq")
                .unwrap_err()
                .to_string(),
            "expected a quoted value after -eq, found the end of the rule"
        );
    }

    fn saw(attr: &str, compliant: bool) -> DeviceFacts {
        DeviceFacts {
            values: [
                (
                    DeviceProperty::parse("extensionAttribute1").unwrap(),
                    attr.to_string(),
                ),
                (DeviceProperty::TrustType, "AzureAD".to_string()),
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
            values: [(DeviceProperty::parse(k).unwrap(), v.to_string())].into(),
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
