//! An engine scenario as text: an `engine NAME arena=SIZE [offset=BYTES]` line where a kernel
//! scenario has its `boot` line, then the generic statements (`allocate`, `free`, `reallocate`, `write`,
//! `read`), parsed and printed by the scenario language itself.

use std::fmt;

use super::api::Arena;
use crate::scenario::lex::{self, shown};
use crate::scenario::{parse, Family, ParseError, Scenario};

/// The arena an `engine` line without `arena=` gets.
pub const DEFAULT_ARENA: u64 = 64 << 10;

/// `engine NAME arena=SIZE [offset=BYTES]`, then the statements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineScenario {
    pub engine: String,
    /// The arena's size in bytes.
    pub arena: u64,
    /// How far the arena starts past its aligned place, in bytes (0 unless `offset=` says).
    pub offset: u64,
    /// The statements (its boot configuration is unused).
    pub scenario: Scenario,
    /// The column of the engine's name on the `engine` line, and that line (for errors about
    /// the engine a caller resolves later).
    pub name_at: (u32, u32),
    pub arena_at: (u32, u32),
    pub offset_at: (u32, u32),
}

/// Whether a text is an engine scenario: its first statement is an `engine` line.
pub fn is_engine_text(text: &str) -> bool {
    text.lines()
        .map(lex::tokenize)
        .find(|t| !t.is_empty())
        .is_some_and(|t| t[0].text == "engine")
}

fn err(line: u32, col: u32, message: String) -> ParseError {
    ParseError {
        line,
        col,
        message,
        hint: None,
    }
}

/// Parses an engine scenario: the `engine` line first, then only generic statements.
pub fn parse_engine(text: &str) -> Result<EngineScenario, ParseError> {
    let mut header = None;
    let mut rest = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        let line_no = u32::try_from(i).unwrap_or(u32::MAX).saturating_add(1);
        let toks = lex::tokenize(line);
        if header.is_none() && !toks.is_empty() {
            if toks[0].text != "engine" {
                return Err(err(
                    line_no,
                    toks[0].col,
                    "an engine scenario starts with 'engine NAME arena=SIZE'".into(),
                ));
            }
            header = Some(header_line(line_no, &toks)?);
            rest.push('\n');
            continue;
        }
        if let Some(t) = toks.first().filter(|t| t.text == "engine") {
            return Err(err(
                line_no,
                t.col,
                "the engine line must be the first statement".into(),
            ));
        }
        rest.push_str(line);
        rest.push('\n');
    }
    let Some(h) = header else {
        return Err(err(1, 1, "expected 'engine NAME arena=SIZE'".into()));
    };
    let scenario = parse(&rest)?;
    for s in &scenario.stmts {
        // An engine block is named by the statement that allocated it, so a loop of
        // allocations would leave blocks without names: repeat is for kernel scenarios.
        if s.repeat.is_some() {
            return Err(err(
                s.line,
                s.col,
                "repeat is for kernel scenarios; an engine scenario allocates one block per statement".into(),
            ));
        }
        let fam = s.op.family();
        if fam != Family::Engine && fam != Family::Access {
            return Err(err(
                s.line,
                s.col,
                format!(
                    "{} is a kernel function; an engine scenario takes allocate, free, reallocate, write and read",
                    s.op.name()
                ),
            ));
        }
    }
    Ok(EngineScenario { scenario, ..h })
}

/// The `engine` line, as an engine scenario without statements.
type Header = EngineScenario;

fn header_line(line: u32, toks: &[lex::Tok<'_>]) -> Result<Header, ParseError> {
    let Some(name) = toks.get(1) else {
        return Err(err(line, toks[0].col, "engine needs a NAME".into()));
    };
    let good = |c: char| c.is_ascii_alphanumeric() || "_-.:".contains(c);
    if !name.text.chars().all(good) || name.text.contains('=') {
        return Err(err(
            line,
            name.col,
            format!(
                "bad engine name '{}' (names are [A-Za-z0-9_.:-]+)",
                shown(name.text)
            ),
        ));
    }
    let mut h = EngineScenario::new(name.text, DEFAULT_ARENA, Scenario::default());
    h.name_at = (line, name.col);
    h.arena_at = (line, name.col);
    h.offset_at = (line, name.col);
    for t in &toks[2..] {
        match t.text.split_once('=') {
            Some(("arena", v)) => {
                h.arena = lex::size(v).map_err(|m| err(line, t.col, format!("arena: {m}")))?;
                h.arena_at = (line, t.col);
            }
            Some(("offset", v)) => {
                h.offset = lex::size(v).map_err(|m| err(line, t.col, format!("offset: {m}")))?;
                h.offset_at = (line, t.col);
            }
            _ => {
                return Err(err(
                    line,
                    t.col,
                    format!(
                        "unknown engine option '{}' (arena=SIZE, offset=BYTES)",
                        shown(t.text)
                    ),
                ))
            }
        }
    }
    Ok(h)
}

/// A size as the text format writes it: with a K, M or G suffix when exact.
pub fn size_text(v: u64) -> String {
    for (shift, suffix) in [(30, "G"), (20, "M"), (10, "K")] {
        if v != 0 && v.trailing_zeros() >= shift {
            return format!("{}{suffix}", v >> shift);
        }
    }
    v.to_string()
}

impl EngineScenario {
    /// A scenario for `engine` over `arena` bytes with these statements.
    pub fn new(engine: &str, arena: u64, scenario: Scenario) -> Self {
        let arena_col = 9 + engine.chars().count() as u32;
        EngineScenario {
            engine: engine.to_string(),
            arena,
            offset: 0,
            scenario,
            name_at: (1, 8),
            arena_at: (1, arena_col),
            offset_at: (1, arena_col + 7 + size_text(arena).len() as u32),
        }
    }

    /// The `engine` line: `offset=` only when there is one.
    pub fn header(&self) -> String {
        let mut h = format!("engine {} arena={}", self.engine, size_text(self.arena));
        if self.offset != 0 {
            h.push_str(&format!(" offset={}", self.offset));
        }
        h
    }

    /// The arena the engine is given.
    pub fn arena(&self) -> Arena {
        Arena {
            len: self.arena,
            offset: self.offset,
        }
    }
}

/// The `engine` line, then one statement per line.
impl fmt::Display for EngineScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.header())?;
        for s in &self.scenario.stmts {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_scenario_round_trips() {
        let text = "# a comment\nengine talc arena=64K\na = allocate 24 8\nwrite a 24 0x41\nb = reallocate a 100\nread b 24\nfree b\n";
        assert!(is_engine_text(text));
        let s = parse_engine(text).unwrap();
        assert_eq!((s.engine.as_str(), s.arena), ("talc", 64 << 10));
        assert_eq!(s.scenario.stmts.len(), 5);
        assert_eq!(s.scenario.stmts[0].line, 3);
        let printed = s.to_string();
        assert!(printed.starts_with("engine talc arena=64K\na = allocate 24 8\n"));
        let shifted = parse_engine("engine talc arena=64K offset=24\nfree 0x0\n").unwrap();
        assert_eq!((shifted.offset, shifted.offset_at), (24, (1, 23)));
        assert_eq!(
            shifted.to_string(),
            "engine talc arena=64K offset=24\nfree 0x0\n"
        );
        let made = EngineScenario::new("talc", 64 << 10, Scenario::default());
        assert_eq!((made.arena_at, made.offset_at), ((1, 13), (1, 23)));
        let mut again = parse_engine(&printed).unwrap();
        let mut s = s;
        s.scenario.renumber();
        again.scenario.renumber();
        assert_eq!(again.scenario, s.scenario);
    }

    #[test]
    fn errors_point_at_the_token() {
        for (text, line, col, msg) in [
            ("a = allocate 8 8", 1, 1, "starts with 'engine"),
            ("engine", 1, 1, "needs a NAME"),
            ("engine t/x", 1, 8, "bad engine name"),
            ("engine t arena=12Q", 1, 10, "arena: bad size"),
            ("engine t frob=1", 1, 10, "unknown engine option"),
            ("engine t arena=4K offset=-1", 1, 19, "offset: bad size"),
            ("engine t\nengine u", 2, 1, "must be the first"),
            (
                "engine t\nk = kmalloc 8 0",
                2,
                1,
                "kmalloc is a kernel function",
            ),
            ("engine t\nfree q", 2, 6, "used before it is bound"),
            ("", 1, 1, "expected 'engine"),
        ] {
            let e = parse_engine(text).expect_err(text);
            assert_eq!((e.line, e.col), (line, col), "{text}: {e}");
            assert!(e.text().contains(msg), "{text}: {e}");
        }
        assert!(!is_engine_text("boot mem=16M\n"));
    }

    #[test]
    fn sizes_print_with_suffixes() {
        assert_eq!(size_text(64 << 10), "64K");
        assert_eq!(size_text(3 << 20), "3M");
        assert_eq!(size_text(1000), "1000");
        assert_eq!(size_text(0), "0");
    }
}
