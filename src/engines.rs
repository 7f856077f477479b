//! The `kmemfuzz` command's side of engines (docs/engines.md): engine scenarios replay on
//! the engine their `engine` line names, and fuzz inputs of engine targets show as engine
//! scenarios.

use kmem_oracle::engine::{is_engine_text, parse_engine, EngineOptions, EngineScenario};
use kmem_oracle::{Family, Scenario, Verdict};

use kmemfuzz_engines::machine::{check_on, MachineEngine};

use crate::cli::{read_text, UsageError};

/// The frame engine `--engine NAME` names, for a machine to run on.
pub fn machine_engine(name: &str) -> Result<MachineEngine, UsageError> {
    kmemfuzz_engines::machine::machine_engine(name).map_err(UsageError)
}

/// A scenario file: a kernel scenario or an engine scenario.
pub enum Loaded {
    Kernel(Scenario),
    Engine(EngineScenario),
}

/// Parses a file of either kind, or a one-line `FILE:LINE:COL: message` error. A kernel
/// scenario may not use the engine statements.
pub fn load_any(path: &str) -> Result<Loaded, UsageError> {
    let text = read_text(path)?;
    if is_engine_text(&text) {
        let s = parse_engine(&text).map_err(|e| UsageError(format!("{path}:{e}")))?;
        // An unknown engine or an arena it does not take is bad input too.
        kmemfuzz_engines::resolve(&s).map_err(|e| UsageError(format!("{path}:{e}")))?;
        return Ok(Loaded::Engine(s));
    }
    let s = kmem_oracle::parse(&text).map_err(|e| UsageError(format!("{path}:{e}")))?;
    if let Some(st) = s.stmts.iter().find(|st| st.op.family() == Family::Engine) {
        return Err(UsageError(format!(
            "{path}:{}:{}: {} is an engine statement; an engine scenario starts with 'engine NAME arena=SIZE'",
            st.line,
            st.col,
            st.op.name()
        )));
    }
    Ok(Loaded::Kernel(s))
}

/// Runs a loaded scenario: a kernel one on the kernel model (its zones on `engine` when one
/// is named), an engine one on its engine.
pub fn check_loaded(l: &Loaded, engine: Option<&MachineEngine>) -> Verdict {
    match l {
        Loaded::Kernel(s) => match engine {
            Some(m) => check_on(s, m, kmem_oracle::Options::default()),
            None => kmem_oracle::check(s),
        },
        // The engine and arena were checked when the file was loaded.
        Loaded::Engine(s) => kmemfuzz_engines::check(s, EngineOptions::REPLAY).unwrap_or_default(),
    }
}

/// The engine scenario a fuzz input of an engine target decodes to, if `target` is one.
pub fn show(target: &str, data: &[u8]) -> Option<String> {
    let s = kmemfuzz_engines::scenario_for(target, data)?;
    Some(format!("# {target} input\n{s}"))
}

/// The engine fuzz targets, for messages.
pub fn targets() -> String {
    kmemfuzz_engines::registry()
        .iter()
        .map(|r| r.target)
        .collect::<Vec<_>>()
        .join(" ")
}
