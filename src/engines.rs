//! The `kmemfuzz` command's side of engines (docs/engines.md): an engine scenario (a file
//! whose first statement is an `engine` line) replays on the engine it names, a kernel
//! scenario may run on another frame engine (`replay --engine NAME`), and a fuzz input of an
//! engine target shows as an engine scenario.

use std::path::Path;

use kmem_oracle::engine::{
    engine_text, is_engine_text, parse_engine, EngineOptions, EngineScenario,
};
use kmem_oracle::{Family, Options, Scenario, Verdict};
use kmemfuzz_engines::machine::{check_on, MachineEngine};

use crate::input::{display_name, parse_text, read_bytes, text_of, InputError};

/// A scenario file: a kernel scenario or an engine scenario.
pub enum Loaded {
    Kernel(Scenario),
    Engine(EngineScenario),
}

/// Reads and parses a scenario of either kind (`-` is standard input). A kernel scenario may
/// not use the engine statements; an engine scenario must name a known engine and an arena
/// it takes.
pub fn load_any(path: &str) -> Result<Loaded, InputError> {
    let name = display_name(path);
    let text = text_of(name, read_bytes(path)?)?;
    let err = |at: (u32, u32), message: String| InputError {
        file: name.to_string(),
        at: Some(at),
        message,
    };
    if is_engine_text(&text) {
        let s = parse_engine(&text).map_err(|e| err((e.line, e.col), e.text()))?;
        if let Err(m) = kmemfuzz_engines::resolve(&s) {
            // resolve() says LINE:COL: first.
            let mut parts = m.splitn(3, ':');
            let (l, c, msg) = (parts.next(), parts.next(), parts.next());
            let at = (
                l.and_then(|l| l.parse().ok()).unwrap_or(1),
                c.and_then(|c| c.parse().ok()).unwrap_or(1),
            );
            return Err(err(at, msg.unwrap_or("").trim().to_string()));
        }
        return Ok(Loaded::Engine(s));
    }
    let s = parse_text(name, &text)?;
    if let Some(st) = s.stmts.iter().find(|st| st.op.family() == Family::Engine) {
        return Err(err(
            (st.line, st.col),
            format!(
                "{} is an engine statement; an engine scenario starts with 'engine NAME arena=SIZE'",
                st.op.name()
            ),
        ));
    }
    Ok(Loaded::Kernel(s))
}

/// The frame engine `--engine NAME` names, for a machine to run on.
pub fn machine_engine(name: &str) -> Result<MachineEngine, String> {
    kmemfuzz_engines::machine::machine_engine(name)
}

/// Checks a kernel scenario on kmem's own page allocator, or on `engine` beneath its zones.
pub fn check_kernel(s: &Scenario, engine: Option<&MachineEngine>) -> Verdict {
    match engine {
        Some(m) => check_on(s, m, Options::default()),
        None => kmem_oracle::check(s),
    }
}

/// Runs an engine scenario (already resolved when loaded): its replay text or JSON line,
/// and whether it passed.
pub fn replay_engine(s: &EngineScenario, json: bool) -> (bool, String) {
    let v = kmemfuzz_engines::check(s, EngineOptions::REPLAY).unwrap_or_default();
    let text = match json {
        true => format!("{}\n", v.to_json()),
        false => engine_text(s, &v),
    };
    (v.pass(), text)
}

/// The engine fuzz target named by the folder that directly holds a fuzz input.
pub fn engine_target_of(path: &str) -> Option<&'static str> {
    let parent = Path::new(path).parent()?.file_name()?.to_str()?;
    kmemfuzz_engines::by_name(parent)
        .filter(|r| r.target == parent)
        .map(|r| r.target)
}

/// The engine scenario a fuzz input of an engine target decodes to.
pub fn show(target: &str, file: &str, data: &[u8]) -> Option<String> {
    let s = kmemfuzz_engines::scenario_for(target, data)?;
    Some(format!("# {target} input {file}\n{s}"))
}
