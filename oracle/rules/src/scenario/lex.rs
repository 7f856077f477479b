//! The lexical layer of the text format: lines into tokens with their columns, and the
//! spelling of numbers, sizes, names and operands.

use super::ast::Operand;

/// One token of a line and its 1-based column, counted in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tok<'a> {
    pub text: &'a str,
    pub col: u32,
}

/// Splits one line into tokens: a `#` starts a comment that runs to the end of the line;
/// tokens are separated by spaces or tabs.
pub fn tokenize(line: &str) -> Vec<Tok<'_>> {
    let code = line.split_once('#').map_or(line, |(code, _)| code);
    let mut toks = Vec::new();
    let mut col: u32 = 0;
    let mut start: Option<(usize, u32)> = None;
    // Byte by byte: the separators are ASCII, and a column is a character, so only the
    // bytes that start one (not UTF-8 continuation bytes) count.
    for (i, &b) in code.as_bytes().iter().enumerate() {
        if b & 0xc0 == 0x80 {
            continue;
        }
        col = col.saturating_add(1);
        let sep = b == b' ' || b == b'\t';
        match (sep, start) {
            (true, Some((s, scol))) => {
                toks.push(Tok {
                    text: code.get(s..i).unwrap_or(""),
                    col: scol,
                });
                start = None;
            }
            (false, None) => start = Some((i, col)),
            _ => {}
        }
    }
    if let Some((s, scol)) = start {
        toks.push(Tok {
            text: code.get(s..).unwrap_or(""),
            col: scol,
        });
    }
    toks
}

/// A token as shown in an error message: at most 40 characters.
pub fn shown(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", s.get(..i).unwrap_or("")),
        None => s.to_string(),
    }
}

enum NumError {
    Bad,
    TooLarge,
}

/// Decimal or `0x` hex digits, no sign, no suffix.
fn digits(s: &str) -> Result<u64, NumError> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (s, 10),
    };
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| match radix {
            16 => b.is_ascii_hexdigit(),
            _ => b.is_ascii_digit(),
        });
    if !ok {
        return Err(NumError::Bad);
    }
    u64::from_str_radix(digits, radix).map_err(|_| NumError::TooLarge)
}

/// A number: decimal or `0x` hex, no sign, no suffix.
pub fn number(s: &str) -> Result<u64, String> {
    digits(s).map_err(|e| match e {
        NumError::Bad => format!("bad number '{}'", shown(s)),
        NumError::TooLarge => format!("number '{}' is too large", shown(s)),
    })
}

/// A size: a number, optionally followed by `K`, `M` or `G` (powers of 1024).
pub fn size(s: &str) -> Result<u64, String> {
    let (num, shift) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (s.get(..s.len() - 1).unwrap_or(""), 10),
        Some(b'M' | b'm') => (s.get(..s.len() - 1).unwrap_or(""), 20),
        Some(b'G' | b'g') => (s.get(..s.len() - 1).unwrap_or(""), 30),
        _ => (s, 0),
    };
    let too_large = || format!("size '{}' is too large", shown(s));
    match digits(num) {
        Ok(v) => v.checked_mul(1u64 << shift).ok_or_else(too_large),
        Err(NumError::TooLarge) => Err(too_large()),
        Err(NumError::Bad) => Err(format!("bad size '{}'", shown(s))),
    }
}

/// A number that must fit in a `u32`.
pub fn number_u32(s: &str) -> Result<u32, String> {
    to_u32(number(s)?, s)
}

/// A size that must fit in a `u32`.
pub fn size_u32(s: &str) -> Result<u32, String> {
    to_u32(size(s)?, s)
}

fn to_u32(v: u64, s: &str) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("{} is out of range (at most {})", shown(s), u32::MAX))
}

/// A byte value, 0 to 255.
pub fn byte(s: &str) -> Result<u8, String> {
    let v = number(s)?;
    u8::try_from(v).map_err(|_| format!("{} is out of range for a byte (at most 0xff)", shown(s)))
}

/// `[a-z_][a-z0-9_]*`.
pub fn is_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

/// A cache name: `[A-Za-z0-9_.-]+`.
pub fn is_cache_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Checks that every `|`-separated numeric part of a flag mask is a well-formed number, so
/// that the flag parsers see only the spellings this format allows.
pub fn check_flag_numbers(s: &str) -> Result<(), String> {
    for part in s.split('|') {
        if part.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            number(part)?;
        }
    }
    Ok(())
}

/// An operand: `name`, `name+N`, `name-N`, a number, or `NULL`.
pub fn operand(s: &str) -> Result<Operand, String> {
    if s == "NULL" {
        return Ok(Operand::Null);
    }
    match s.as_bytes().first() {
        Some(b) if b.is_ascii_digit() => number(s).map(Operand::Lit),
        Some(b'a'..=b'z' | b'_') => {
            let (name, offset) = match s.find(['+', '-']) {
                None => (s, 0),
                Some(i) => {
                    let name = s.get(..i).unwrap_or("");
                    let n = number(s.get(i + 1..).unwrap_or(""))
                        .map_err(|e| format!("bad offset in '{}': {e}", shown(s)))?;
                    let offset = if s.as_bytes().get(i) == Some(&b'-') {
                        0i64.checked_sub_unsigned(n)
                    } else {
                        i64::try_from(n).ok()
                    };
                    let offset = offset
                        .ok_or_else(|| format!("offset in '{}' is out of range", shown(s)))?;
                    (name, offset)
                }
            };
            if !is_name(name) {
                return Err(format!("bad name '{}'", shown(name)));
            }
            Ok(Operand::Name {
                name: name.into(),
                offset,
            })
        }
        _ => Err(format!(
            "expected an operand (name, name+N, name-N, a number or NULL), got '{}'",
            shown(s)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns count characters, not bytes.
    #[test]
    fn columns_of_wide_characters() {
        let t = tokenize("é p\tü= x€ y");
        let got: Vec<(&str, u32)> = t.iter().map(|t| (t.text, t.col)).collect();
        assert_eq!(got, [("é", 1), ("p", 3), ("ü=", 5), ("x€", 8), ("y", 11)]);
    }

    #[test]
    fn tokens_and_columns() {
        let t = tokenize("  p = kmalloc\t8 GFP_KERNEL # comment");
        let got: Vec<(&str, u32)> = t.iter().map(|t| (t.text, t.col)).collect();
        assert_eq!(
            got,
            [
                ("p", 3),
                ("=", 5),
                ("kmalloc", 7),
                ("8", 15),
                ("GFP_KERNEL", 17)
            ]
        );
        assert!(tokenize("# only a comment").is_empty());
        assert!(tokenize(" \t ").is_empty());
        let t = tokenize("é kfree p#x");
        assert_eq!(t.iter().map(|t| t.col).collect::<Vec<_>>(), [1, 3, 9]);
        assert_eq!(t[2].text, "p");
    }

    #[test]
    fn numbers_and_sizes() {
        assert_eq!(number("0x10"), Ok(16));
        assert_eq!(number("0010"), Ok(10));
        assert_eq!(number("0x00000000000000000001"), Ok(1));
        assert_eq!(number("18446744073709551615"), Ok(u64::MAX));
        assert!(number("18446744073709551616").is_err());
        assert!(number("0x+1").is_err());
        assert!(number("+1").is_err());
        assert!(number("").is_err());
        assert!(number("0x").is_err());
        assert!(number("1K").is_err());
        assert_eq!(size("160M"), Ok(160 << 20));
        assert_eq!(size("0x10K"), Ok(16 << 10));
        assert!(size("K").is_err());
        assert!(size("99999999999G").is_err());
        assert!(size("é").is_err());
        assert_eq!(byte("0xff"), Ok(255));
        assert!(byte("256").is_err());
        assert!(number_u32("4294967296").is_err());
    }

    #[test]
    fn operands() {
        assert_eq!(operand("NULL"), Ok(Operand::Null));
        assert_eq!(operand("0xd0000000"), Ok(Operand::Lit(0xd000_0000)));
        assert_eq!(operand("p"), Ok(Operand::name("p")));
        assert_eq!(
            operand("a_1+16"),
            Ok(Operand::Name {
                name: "a_1".into(),
                offset: 16
            })
        );
        assert_eq!(
            operand("p-0x8000000000000000"),
            Ok(Operand::Name {
                name: "p".into(),
                offset: i64::MIN
            })
        );
        assert!(operand("p+0x8000000000000000").is_err());
        assert!(operand("p-0x8000000000000001").is_err());
        assert!(operand("p+").is_err());
        assert!(operand("p+-1").is_err());
        assert!(operand("P").is_err());
        assert!(operand("pX").is_err());
        assert!(operand("null").is_ok());
        assert!(operand("-1").is_err());
    }
}
