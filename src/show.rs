//! `kmemfuzz show`: a raw fuzzer input printed as the scenario its target decodes it to.

use std::path::Path;

use crate::cli::{ShowArgs, Target};
use crate::input::{display_name, read_bytes};
use crate::out::{Fail, Out, Outcome};
use crate::stress::gen_config;

pub fn command(a: &ShowArgs, out: &mut Out) -> Outcome {
    let file = display_name(&a.file);
    if is_scenario_text(&a.file) {
        return Err(Fail::usage(format!(
            "{file}: a scenario text, not a raw fuzzer input; run it with: kmemfuzz replay {}",
            a.file
        )));
    }
    if let Some(t) = a
        .target
        .is_none()
        .then(|| crate::engines::engine_target_of(&a.file))
        .flatten()
    {
        let data = read_bytes(&a.file).map_err(|e| Fail::usage(e.to_string()))?;
        if let Some(text) = crate::engines::show(t, file, &data) {
            out.put(&text)?;
            return Ok(0);
        }
    }
    let target = match a.target {
        Some(t) => t,
        None => target_of(&a.file).ok_or_else(|| {
            Fail::usage(format!(
                "{file}: the folder holding it names no target; pass --target NAME"
            ))
        })?,
    };
    let data = read_bytes(&a.file).map_err(|e| Fail::usage(e.to_string()))?;
    if data.starts_with(b"boot ") || std::str::from_utf8(&data).is_ok_and(looks_like_scenario) {
        return Err(Fail::usage(format!(
            "{file}: a scenario text, not a raw fuzzer input; run it with: kmemfuzz replay {}",
            a.file
        )));
    }
    let g = kmem_oracle::scenario_from_bytes(&data, &gen_config(target));
    out.put(&format!("# {} input {file}\n{}", target.name(), g.scenario))?;
    Ok(0)
}

/// A `.kmem` file is a scenario text by name.
fn is_scenario_text(path: &str) -> bool {
    Path::new(path).extension().is_some_and(|e| e == "kmem")
}

/// A text that parses as a scenario with at least one statement: what `replay` reads. Raw
/// fuzzer inputs are bytes that almost never do.
fn looks_like_scenario(text: &str) -> bool {
    kmem_oracle::parse(text).is_ok_and(|s| !s.stmts.is_empty())
}

/// The target named by the folder that directly holds the input (corpus/slab/x,
/// fuzz/artifacts/kmalloc/crash-...), and no other part of the path.
pub fn target_of(path: &str) -> Option<Target> {
    let parent = Path::new(path).parent()?.file_name()?.to_str()?;
    Target::from_name(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_holding_folder_names_the_target() {
        assert_eq!(target_of("corpus/slab/abc"), Some(Target::Slab));
        assert_eq!(
            target_of("fuzz/artifacts/kmalloc/crash-1"),
            Some(Target::Kmalloc)
        );
        assert_eq!(target_of("slab/inputs/abc"), None);
        assert_eq!(target_of("abc"), None);
        assert_eq!(target_of("slab"), None);
    }

    #[test]
    fn scenario_texts_are_told_apart() {
        assert!(is_scenario_text("corpus/regressions/x.kmem"));
        assert!(!is_scenario_text("corpus/slab/0123"));
        assert!(looks_like_scenario("p = kmalloc 8 GFP_KERNEL\n"));
        assert!(!looks_like_scenario("\u{1}\u{2}garbage"));
        assert!(!looks_like_scenario("# only a comment\n"));
    }
}
