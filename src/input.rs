//! Reading the command's inputs: files or standard input (`-`), as bytes or UTF-8 text, and
//! scenarios parsed from them. Every error names the input and, where it applies, the line
//! and column.

use std::io::Read as _;

use kmem_oracle::{parse, ParseError, Scenario};

/// Why an input could not be used: its name, and where in it when that is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    /// 1-based line and column, when the error is at a place in the text.
    pub at: Option<(u32, u32)>,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// The name an input is shown with: `-` is standard input.
pub fn display_name(path: &str) -> &str {
    if path == "-" {
        "<stdin>"
    } else {
        path
    }
}

/// The bytes of a file, or of standard input for `-`.
pub fn read_bytes(path: &str) -> Result<Vec<u8>, InputError> {
    let err = |message: String| InputError {
        file: display_name(path).to_string(),
        at: None,
        message,
    };
    if path == "-" {
        let mut v = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut v)
            .map_err(|e| err(io_reason(&e)))?;
        return Ok(v);
    }
    std::fs::read(path).map_err(|e| err(io_reason(&e)))
}

/// Bytes as UTF-8 text, or an error at the first byte that is not.
pub fn text_of(file: &str, bytes: Vec<u8>) -> Result<String, InputError> {
    String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = upto.len() - upto.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        InputError {
            file: file.to_string(),
            at: Some((
                u32::try_from(line).unwrap_or(u32::MAX),
                u32::try_from(col).unwrap_or(u32::MAX),
            )),
            message: "not valid UTF-8".into(),
        }
    })
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => e.to_string(),
    }
}

/// A scenario parsed from a text, or the error at its line and column.
pub fn parse_text(file: &str, text: &str) -> Result<Scenario, InputError> {
    parse(text).map_err(|e: ParseError| InputError {
        file: file.to_string(),
        at: Some((e.line, e.col)),
        message: e.text(),
    })
}

/// Reads and parses one scenario (`-` is standard input).
pub fn load(path: &str) -> Result<Scenario, InputError> {
    let name = display_name(path);
    let text = text_of(name, read_bytes(path)?)?;
    parse_text(name, &text)
}
