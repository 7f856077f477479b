//! `kmemfuzz layout`: a freshly booted machine's memory layout, /proc/buddyinfo and
//! /proc/meminfo.

use kmem::{BootConfig, Machine};

use crate::cli::LayoutArgs;
use crate::out::{Fail, Out, Outcome};

pub fn command(a: &LayoutArgs, out: &mut Out) -> Outcome {
    let cfg = boot_config(&a.options)?;
    let m = Machine::boot(&cfg).map_err(|e| Fail::usage(format!("boot option {e}")))?;
    out.line(&boot_line(&cfg))?;
    for l in m.layout().boot_log() {
        out.line(&l)?;
    }
    out.put("\n/proc/buddyinfo:\n")?;
    out.put(&m.proc_buddyinfo())?;
    out.put("\n/proc/meminfo:\n")?;
    out.put(&m.proc_meminfo())?;
    Ok(0)
}

/// Boot words as on a scenario's boot line; an unknown key gets the nearest known one.
pub fn boot_config(words: &[String]) -> Result<BootConfig, Fail> {
    BootConfig::parse_words(words.iter().map(|s| s.as_str())).map_err(|e| {
        let hint = kmem_oracle::scenario::suggest::boot_key_hint(&e.key);
        Fail::usage(format!("boot option {e}{hint}"))
    })
}

/// The boot line the machine ran with, every default written out.
pub fn boot_line(cfg: &BootConfig) -> String {
    format!("boot {}", cfg.full_words().join(" "))
}
