//! Splitting one fuzz input into parts, and joining parts into one (for seeds).

/// Reads parts off an input: `u16` big-endian length-prefixed, the last part the rest.
pub struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    /// Starts reading `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Fields(data)
    }

    /// One byte (a selector); `None` when the input is used up.
    pub fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// One length-prefixed part; `None` when the input is too short for it.
    pub fn part(&mut self) -> Option<&'a [u8]> {
        let (len, rest) = self.0.split_first_chunk::<2>()?;
        let n = usize::from(u16::from_be_bytes(*len));
        if rest.len() < n {
            return None;
        }
        let (part, rest) = rest.split_at(n);
        self.0 = rest;
        Some(part)
    }

    /// Whatever is left.
    pub fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// Joins a selector and parts the way [`Fields`] reads them (the last part unprefixed).
/// Parts longer than `u16::MAX` are cut.
pub fn join(selector: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![selector];
    if let Some((last, init)) = parts.split_last() {
        for p in init {
            let n = p.len().min(usize::from(u16::MAX));
            out.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
            out.extend_from_slice(p.get(..n).unwrap_or_default());
        }
        out.extend_from_slice(last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_joined_are_read_back() {
        let data = join(7, &[b"ab", b"", b"rest of it"]);
        let mut f = Fields::new(&data);
        assert_eq!(f.byte(), Some(7));
        assert_eq!(f.part(), Some(&b"ab"[..]));
        assert_eq!(f.part(), Some(&b""[..]));
        assert_eq!(f.rest(), b"rest of it");
        let mut short = Fields::new(&[0, 9, 1]);
        assert_eq!(short.part(), None);
    }
}
