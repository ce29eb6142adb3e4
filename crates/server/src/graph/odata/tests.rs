//! The parser and the schemas: quotes, precedence, errors, checking, evaluation.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    Upn,
    Created,
    Code,
}

const USERS: Schema<F> = Schema {
    fields: &[
        Field {
            name: "userPrincipalName",
            key: F::Upn,
            kind: Kind::Text,
            ops: &[Op::Eq, Op::StartsWith],
        },
        Field {
            name: "createdDateTime",
            key: F::Created,
            kind: Kind::DateTime,
            ops: &[Op::Ge, Op::Le],
        },
        Field {
            name: "status/errorCode",
            key: F::Code,
            kind: Kind::Int,
            ops: &[Op::Eq, Op::In],
        },
    ],
    any_logic: false,
};

fn clause(field: &str, op: Op, v: Literal) -> Filter {
    Filter::Clause(Clause {
        field: field.into(),
        op,
        values: vec![v],
    })
}

#[test]
fn a_quoted_and_is_part_of_the_value_and_doubled_quotes_are_one() {
    let f = parse_filter("displayName eq 'Tom and Jerry' and userPrincipalName eq 'o''neil@x'")
        .unwrap();
    assert_eq!(
        f,
        Filter::And(vec![
            clause("displayName", Op::Eq, Literal::Text("Tom and Jerry".into())),
            clause(
                "userPrincipalName",
                Op::Eq,
                Literal::Text("o'neil@x".into())
            ),
        ])
    );
    assert_eq!(
        parse_filter("displayName eq ' and '").unwrap(),
        clause("displayName", Op::Eq, Literal::Text(" and ".into()))
    );
    assert_eq!(
        parse_filter("displayName eq ''''").unwrap(),
        clause("displayName", Op::Eq, Literal::Text("'".into()))
    );
}

#[test]
fn precedence_functions_in_lists_and_literals() {
    let f = parse_filter(
        "a eq 1 or NOT (b eq true) AND startswith(c,'x') and d in ('p', 'q') and e ge 2024-05-01T00:00:00Z and g eq 0f8fad5b-d9cb-469f-a165-70867728950e and h eq null",
    )
    .unwrap();
    let Filter::Or(parts) = f else {
        panic!("or binds loosest: {f:?}")
    };
    assert_eq!(parts.len(), 2);
    let Filter::And(ands) = &parts[1] else {
        panic!("{parts:?}")
    };
    assert_eq!(ands.len(), 6);
    assert!(matches!(&ands[0], Filter::Not(_)));
    assert!(matches!(&ands[2], Filter::Clause(c) if c.op == Op::In && c.values.len() == 2));
    assert!(matches!(&ands[3], Filter::Clause(c) if matches!(c.values[0], Literal::DateTime(_))));
    assert!(matches!(&ands[4], Filter::Clause(c) if matches!(c.values[0], Literal::Guid(_))));
    assert!(matches!(&ands[5], Filter::Clause(c) if c.values[0] == Literal::Null));
}

#[test]
fn syntax_errors_say_where_and_what() {
    for (bad, at) in [
        ("displayName eq 'open", 15),
        ("displayName", 11),
        ("displayName eq", 14),
        ("displayName has 'x'", 12),
        ("(displayName eq 'x'", 19),
        ("displayName eq 'x' extra", 19),
        ("startswith(displayName 'x')", 23),
        ("", 0),
        ("'x' eq displayName", 0),
    ] {
        match parse_filter(bad) {
            Err(ODataError::Syntax { at: got, .. }) => assert_eq!(got, at, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    let deep = format!("{}a eq 1{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(parse_filter(&deep), Err(ODataError::TooComplex));
    assert_eq!(
        parse_filter(&"a eq 1 and ".repeat(1000)),
        Err(ODataError::TooComplex)
    );
}

#[test]
fn a_schema_names_unknown_fields_wrong_types_and_operators() {
    let c = USERS
        .parse("USERPRINCIPALNAME eq 'a@b' and createdDateTime ge 2024-01-01T00:00:00Z")
        .unwrap();
    let clauses = c.clauses();
    assert_eq!(
        clauses[0].field,
        F::Upn,
        "the key of the list, not the text"
    );
    assert_eq!(clauses[0].text(), Some("a@b"));
    match USERS.parse("mail eq 'a@b'") {
        Err(e @ ODataError::UnknownField { .. }) => {
            let m = e.to_string();
            assert!(
                m.contains("'mail'") && m.contains("userPrincipalName"),
                "{m}"
            );
            assert_eq!(e.code(), "Request_UnsupportedQuery");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        USERS.parse("userPrincipalName eq true"),
        Err(ODataError::WrongType {
            found: "a Boolean",
            ..
        })
    ));
    assert!(matches!(
        USERS.parse("createdDateTime ge '2024-01-01'"),
        Err(ODataError::WrongType { .. })
    ));
    assert!(matches!(
        USERS.parse("status/errorCode in (0, 'x')"),
        Err(ODataError::WrongType { .. })
    ));
    assert!(matches!(
        USERS.parse("userPrincipalName ne 'a@b'"),
        Err(ODataError::Operator { op: "ne", .. })
    ));
    assert_eq!(
        USERS.parse("userPrincipalName eq 'a' or userPrincipalName eq 'b'"),
        Err(ODataError::Unsupported("'or'"))
    );
    assert_eq!(
        USERS.parse("not userPrincipalName eq 'a'"),
        Err(ODataError::Unsupported("'not'"))
    );
}

#[test]
fn an_in_memory_list_evaluates_or_not_in_and_comparisons() {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum S {
        Kind,
        Name,
    }
    const STRENGTHS: Schema<S> = Schema {
        fields: &[
            Field {
                name: "policyType",
                key: S::Kind,
                kind: Kind::Text,
                ops: &[Op::Eq, Op::Ne, Op::In],
            },
            Field {
                name: "displayName",
                key: S::Name,
                kind: Kind::Text,
                ops: &[Op::Eq, Op::Ne, Op::In, Op::StartsWith],
            },
        ],
        any_logic: true,
    };
    let item = |kind: &str, name: &str| {
        let (kind, name) = (kind.to_string(), name.to_string());
        move |k: S| match k {
            S::Kind => Literal::Text(kind.clone()),
            S::Name => Literal::Text(name.clone()),
        }
    };
    let mfa = item("builtIn", "Multifactor authentication");
    let mine = item("custom", "Passkeys and 'friends'");
    for (f, a, b) in [
        ("policyType eq 'BUILTIN'", true, false),
        ("policyType ne 'builtIn'", false, true),
        ("not (policyType eq 'builtIn')", false, true),
        ("policyType in ('custom', 'other')", false, true),
        (
            "startswith(displayName, 'multi') or displayName eq 'Passkeys and ''friends'''",
            true,
            true,
        ),
        (
            "policyType eq 'custom' and displayName eq 'x'",
            false,
            false,
        ),
    ] {
        let c = STRENGTHS.parse(f).unwrap();
        assert_eq!((c.matches(&mfa), c.matches(&mine)), (a, b), "{f}");
    }
}

#[test]
fn top_and_select() {
    assert_eq!(top(None, 100, 999), Ok(100));
    assert_eq!(top(Some("5"), 100, 999), Ok(5));
    for bad in ["0", "1000", "-1", "x", ""] {
        assert!(
            matches!(top(Some(bad), 100, 999), Err(ODataError::Top { .. })),
            "{bad}"
        );
    }
    assert_eq!(
        select("id, displayName").unwrap(),
        vec!["id", "displayname"]
    );
    assert!(select("id,,x").is_err());
    assert!(select("a;drop").is_err());
}
