//! Bad input (issue 19, item 2): the requests a careless or hostile client sends, derived
//! from a sample of a valid one — malformed, truncated and deeply nested JSON, wrong types
//! per field, huge strings, invalid UTF-8, wrong content types, bad ids, odd queries.

use serde_json::{json, Map, Value};

/// Tables a refused request may still add to: the sign-in log records refused sign-ins
/// (R29: every refusal is explained to the administrator), and the lock-out counters count
/// them. Any other change after a refusal is a failure.
pub const LOGS_OF_REFUSALS: [&str; 2] = ["sign_in_log", "auth_failures"];

/// One bad body: what it is, the content type it is sent with (none: no header), its bytes.
#[derive(Debug, Clone)]
pub struct Bad {
    pub what: String,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    /// Not a JSON document a parser with a nesting limit reads: every route that reads JSON
    /// must refuse it.
    pub malformed: bool,
}

const JSON: Option<&str> = Some("application/json");
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

/// A string longer than any field allows, well inside the body limit.
pub fn huge() -> String {
    "A".repeat(40_000)
}

fn bad(
    what: impl Into<String>,
    content_type: Option<&'static str>,
    body: impl Into<Vec<u8>>,
) -> Bad {
    Bad {
        what: what.into(),
        content_type,
        body: body.into(),
        malformed: false,
    }
}

/// [`bad`], marked as not JSON at all.
fn broken(what: impl Into<String>, body: impl Into<Vec<u8>>) -> Bad {
    Bad {
        malformed: true,
        ..bad(what, JSON, body)
    }
}

/// Values of the wrong type (or the right type, wrongly) for any field.
fn wrong_values() -> Vec<(&'static str, Value)> {
    vec![
        ("null", Value::Null),
        ("true", json!(true)),
        ("-1", json!(-1)),
        ("1.5", json!(1.5)),
        ("1e300", json!(1e300)),
        ("i64::MIN", json!(i64::MIN)),
        ("u64::MAX", json!(u64::MAX)),
        ("empty string", json!("")),
        ("a word", json!("x")),
        ("a huge string", json!(huge())),
        ("NUL and controls", json!("a\u{0}b\u{1b}[31m\r\n")),
        ("an empty list", json!([])),
        ("a list of nulls", json!([null, null])),
        ("an empty object", json!({})),
        ("nested lists", json!([[[[[[[[1]]]]]]]])),
    ]
}

/// Every path to a value inside `v`, down to `depth` levels (objects by key, lists by
/// their first element).
fn paths(v: &Value, depth: usize) -> Vec<Vec<PathStep>> {
    let mut out = vec![];
    if depth == 0 {
        return out;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                out.push(vec![PathStep::Key(k.clone())]);
                for mut p in paths(child, depth - 1) {
                    p.insert(0, PathStep::Key(k.clone()));
                    out.push(p);
                }
            }
        }
        Value::Array(a) => {
            if let Some(first) = a.first() {
                out.push(vec![PathStep::First]);
                for mut p in paths(first, depth - 1) {
                    p.insert(0, PathStep::First);
                    out.push(p);
                }
            }
        }
        _ => {}
    }
    out
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    First,
}

fn show(path: &[PathStep]) -> String {
    path.iter()
        .map(|s| match s {
            PathStep::Key(k) => k.clone(),
            PathStep::First => "[0]".into(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `v` with the value at `path` replaced by `with` (`None`: removed).
fn replaced(v: &Value, path: &[PathStep], with: Option<&Value>) -> Value {
    let mut out = v.clone();
    let mut at = &mut out;
    for (i, step) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match (step, at) {
            (PathStep::Key(k), Value::Object(m)) => {
                if last {
                    match with {
                        Some(w) => {
                            m.insert(k.clone(), w.clone());
                        }
                        None => {
                            m.remove(k);
                        }
                    }
                    return out;
                }
                at = m.get_mut(k).expect("path exists");
            }
            (PathStep::First, Value::Array(a)) => {
                if last {
                    match with {
                        Some(w) => a[0] = w.clone(),
                        None => {
                            a.remove(0);
                        }
                    }
                    return out;
                }
                at = &mut a[0];
            }
            _ => unreachable!("paths() only yields paths that exist"),
        }
    }
    out
}

/// The bad JSON bodies derived from `sample` (a valid body of the route).
pub fn json_bodies(sample: &Value) -> Vec<Bad> {
    let text = sample.to_string();
    let mut out = vec![
        bad("an empty body", JSON, ""),
        broken("not JSON", "{ not json"),
        bad("only whitespace", JSON, " \n\t "),
        bad("a JSON null", JSON, "null"),
        broken("a number out of range", "1e999999"),
        bad("a string", JSON, "\"x\""),
        bad("a list", JSON, "[1, 2, 3]"),
        bad("the sample in a list", JSON, format!("[{text}]")),
        bad(
            "a long number",
            JSON,
            "123456789012345678901234567890123456789",
        ),
        broken(
            "arrays nested 10,000 deep",
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        ),
        broken(
            "objects nested 5,000 deep",
            format!("{}1{}", "{\"a\":".repeat(5_000), "}".repeat(5_000)),
        ),
        broken("nesting never closed", "[".repeat(60_000)),
        broken("trailing garbage", format!("{text} x")),
        broken("two documents", format!("{text}{text}")),
        broken("a byte-order mark", format!("\u{feff}{text}")),
        broken(
            "invalid UTF-8 inside a string",
            [b"{\"a\": \"".as_slice(), &[0xff, 0xfe, 0xc3, 0x28], b"\"}"].concat(),
        ),
        broken("invalid UTF-8 alone", vec![0xff, 0xfe, 0xfd]),
        broken("a lone surrogate", r#"{"a": "\ud800"}"#),
        broken("a bad escape", r#"{"a": "\x41"}"#),
    ];
    let mut cuts = vec![
        1,
        text.len() / 3,
        text.len() / 2,
        text.len().saturating_sub(1),
    ];
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts {
        if cut > 0 && cut < text.len() && text.is_char_boundary(cut) {
            out.push(broken(format!("truncated at byte {cut}"), &text[..cut]));
        }
    }
    if let Value::Object(m) = sample {
        if let Some((k, v)) = m.iter().next() {
            let rest = text.trim_start_matches('{');
            out.push(bad(
                format!("{k} given twice"),
                JSON,
                format!("{{{}:{},{rest}", Value::String(k.clone()), wrong(v)),
            ));
        }
        let mut extra = m.clone();
        extra.insert("zzzUnknown".into(), json!(1));
        out.push(bad(
            "an unknown property",
            JSON,
            Value::Object(extra).to_string(),
        ));
        out.push(bad(
            "an empty object",
            JSON,
            Value::Object(Map::new()).to_string(),
        ));
    }
    for path in paths(sample, 3) {
        out.push(bad(
            format!("{} missing", show(&path)),
            JSON,
            replaced(sample, &path, None).to_string(),
        ));
        for (name, w) in wrong_values() {
            out.push(bad(
                format!("{} = {name}", show(&path)),
                JSON,
                replaced(sample, &path, Some(&w)).to_string(),
            ));
        }
    }
    for (what, ct) in [
        ("as text/plain", Some("text/plain")),
        ("as a form", FORM),
        ("with no content type", None),
        ("as UTF-16 JSON", Some("application/json; charset=utf-16")),
        ("as multipart", Some("multipart/form-data; boundary=x")),
    ] {
        out.push(bad(format!("the sample {what}"), ct, text.clone()));
    }
    out
}

/// A value of another type than `v`.
fn wrong(v: &Value) -> Value {
    if v.is_string() {
        json!(1)
    } else {
        json!("x")
    }
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `fields` as a form body, with `raw` appended unencoded.
fn form(fields: &[(String, String)], raw: &str) -> String {
    let mut parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    if !raw.is_empty() {
        parts.push(raw.to_string());
    }
    parts.join("&")
}

/// The bad form bodies derived from `sample` (the fields a page's form posts).
pub fn form_bodies(sample: &[(String, String)]) -> Vec<Bad> {
    let valid = form(sample, "");
    let mut out = vec![
        bad("an empty form", FORM, ""),
        bad("a lone percent", FORM, "%"),
        bad("bad escapes", FORM, "%zz=%g1&a=%"),
        bad("separators only", FORM, "&&&===&"),
        bad("invalid UTF-8 escaped", FORM, "a=%ff%fe&%c3%28=1"),
        bad("invalid UTF-8 raw", FORM, vec![b'a', b'=', 0xff, 0xfe]),
        bad("a huge name", FORM, format!("{}=1", huge())),
        bad(
            "the form as JSON",
            JSON,
            serde_json::to_vec(&sample).unwrap_or_default(),
        ),
        bad("the form as text/plain", Some("text/plain"), valid.clone()),
        bad("the form with no content type", None, valid.clone()),
        bad(
            "the form as multipart",
            Some("multipart/form-data; boundary=x"),
            valid.clone(),
        ),
    ];
    for (i, (name, _)) in sample.iter().enumerate() {
        let without: Vec<_> = sample
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, f)| f.clone())
            .collect();
        out.push(bad(format!("{name} missing"), FORM, form(&without, "")));
        let mut values: Vec<(&str, String)> = vec![
            ("empty", String::new()),
            ("huge", huge()),
            ("NUL", "a\u{0}b".into()),
            ("markup", "<script>alert(1)</script>\"'\r\n".into()),
            ("-1", "-1".into()),
            ("a long number", "99999999999999999999".into()),
            ("not an id", "not-a-uuid".into()),
            ("the nil id", "00000000-0000-0000-0000-000000000000".into()),
            ("a date out of range", "9999-99-99T99:99:99Z".into()),
        ];
        for (what, v) in values.drain(..) {
            let mut f = without.clone();
            f.push((name.clone(), v));
            out.push(bad(format!("{name} = {what}"), FORM, form(&f, "")));
        }
        let enc = encode(name);
        out.push(bad(
            format!("{name} = invalid UTF-8"),
            FORM,
            form(&without, &format!("{enc}=%ff%fe%c3%28")),
        ));
        out.push(bad(
            format!("{name} twice"),
            FORM,
            form(sample, &format!("{enc}=second")),
        ));
        out.push(bad(
            format!("{name} as an array"),
            FORM,
            form(&without, &format!("{enc}%5B%5D=x")),
        ));
    }
    out
}

/// Path segments that are not ids of anything, or not even text.
pub fn bad_segments() -> Vec<(&'static str, String)> {
    vec![
        ("not an id", "not-a-uuid".into()),
        ("the nil id", "00000000-0000-0000-0000-000000000000".into()),
        ("a number", "-1".into()),
        ("invalid UTF-8", "%ff%fe".into()),
        ("NUL", "%00".into()),
        ("a traversal", "..%2f..%2fetc%2fpasswd".into()),
        ("dots", "...".into()),
        ("SQL", "'%20OR%201=1--".into()),
        ("a placeholder", "%7Bid%7D".into()),
        ("a huge segment", "A".repeat(5_000)),
    ]
}

/// Odd query strings: in general, and for each parameter name given.
pub fn odd_queries(names: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![
        ("invalid UTF-8 name and value".into(), "%ff=%fe".into()),
        ("a lone percent".into(), "a=%".into()),
        ("separators only".into(), "=&&==".into()),
        ("array syntax".into(), "x[]=1&x[]=2".into()),
        ("a huge value".into(), format!("q={}", "A".repeat(8_000))),
    ];
    for n in names {
        let n = encode(n);
        for (what, v) in [
            ("empty", String::new()),
            ("invalid UTF-8", "%ff%fe".into()),
            ("NUL", "%00".into()),
            ("-1", "-1".into()),
            ("a long number", "99999999999999999999".into()),
            ("not a date", "yesterday".into()),
            ("huge", "A".repeat(8_000)),
            ("markup", encode("<script>\"'")),
            ("another origin", encode("https://evil.example/x")),
            ("protocol-relative", encode("//evil.example/x")),
        ] {
            out.push((format!("{n} = {what}"), format!("{n}={v}")));
        }
        out.push((format!("{n} twice"), format!("{n}=a&{n}=b")));
    }
    out
}

/// OData options as a careless client writes them.
pub fn odd_odata() -> Vec<(&'static str, &'static str)> {
    vec![
        ("an empty filter", "$filter="),
        ("an unclosed call", "$filter=startswith(displayName,"),
        ("a filter on an unknown property", "$filter=zzz%20eq%201"),
        (
            "a deep filter",
            "$filter=((((((((((((((((((((a%20eq%201))))))))))))))))))))",
        ),
        ("a negative top", "$top=-1"),
        ("a huge top", "$top=99999999999999999999"),
        ("a bad select", "$select=../x,%ff"),
        ("a bad order", "$orderby=;drop"),
        ("a bad skip token", "$skiptoken=%ff%fe"),
        ("a bad count", "$count=maybe"),
        ("expand everything", "$expand=*"),
        ("an unclosed search", "$search=%22"),
        ("an unknown option", "$zzz=1"),
    ]
}
