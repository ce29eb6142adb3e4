//! CSV exports (RFC 4180) that a spreadsheet opens safely: a cell holding a comma, a quote
//! or a line break is quoted, and a cell a spreadsheet would run as a formula (`=`, `+`,
//! `-`, `@`, a tab or a carriage return first) is prefixed with `'` — sign-in and audit logs
//! carry text that anyone can choose, such as a user agent.

/// Appends one cell to `out`: a leading `=`, `+`, `-`, `@`, tab or carriage return is
/// neutralised with a `'` (a spreadsheet would run it as a formula), and a cell holding a
/// comma, quote or line break is quoted, its quotes doubled.
pub fn push_cell(out: &mut String, s: &str) {
    let quoted = s.contains([',', '"', '\n', '\r']);
    if quoted {
        out.push('"');
    }
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    if quoted {
        for (i, part) in s.split('"').enumerate() {
            if i > 0 {
                out.push_str("\"\"");
            }
            out.push_str(part);
        }
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// One cell, as [`push_cell`] writes it.
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_cell(&mut out, s);
    out
}

/// Appends one line to `out`: the cells, then a line break.
pub fn push_line<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(out, c.as_ref());
    }
    out.push('\n');
}

/// One line: the cells, then a line break.
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut out = String::new();
    push_line(&mut out, cells);
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
