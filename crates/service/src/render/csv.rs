//! CSV exports (RFC 4180) that a spreadsheet opens safely: a cell holding a comma, a quote
//! or a line break is quoted, and a cell a spreadsheet would run as a formula (`=`, `+`,
//! `-`, `@`, a tab or a carriage return first) is prefixed with `'` — sign-in and audit logs
//! carry text that anyone can choose, such as a user agent.

/// One cell.
pub fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// One line: the cells, then a line break.
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut out = cells
        .iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(super::cell("plain"), "plain");
        assert_eq!(super::cell("a,b"), "\"a,b\"");
        assert_eq!(super::cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            super::cell("=HYPERLINK(\"x\")"),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(super::cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::line(&["a", "b\nc"]), "a,\"b\nc\"\n");
    }
}
