//! What the fuzz targets do, so that each target under `fuzz/fuzz_targets/` (and its AFL++
//! twin under `fuzz/afl/`) is three lines and a crash replays the same way in `cargo test`,
//! in `kmemfuzz replay` and under the fuzzer.
//!
//! - [`run`]: check a generated scenario with the real buddy; on a failed verdict, panic with
//!   the verdict's explanation followed by the scenario text.
//! - [`parse_never_panics`]: the parser must not panic on any text, and whatever it accepts
//!   must print as text that parses back to the same scenario.
//!
//! These are the only functions of the crate that panic on purpose: the panic is how a fuzzing
//! engine learns that an input is a finding.

use crate::checker::{check_with, Options};
use crate::scenario::{parse, Generated, Scenario};
use crate::verdict::Verdict;

/// The first line of every panic raised here; `scripts/fuzz` looks for it.
pub const FAIL_HEADER: &str = "kmem oracle: verdict fail";

/// The checker as the fuzzers run it: the real buddy, no step recording.
pub fn check_scenario(s: &Scenario) -> Verdict {
    check_with(
        s,
        Options {
            record_steps: false,
        },
        &|z, r| Box::new(kmem::Buddy::new(z, r)),
    )
}

/// The panic message for a failed verdict: a header line, the failures (one per line), then
/// the scenario text (with its `# misuse:` comments when it was generated).
pub fn failure_message(v: &Verdict, scenario_text: &str) -> String {
    format!(
        "{FAIL_HEADER}\n{}--- scenario ---\n{scenario_text}",
        v.explain()
    )
}

/// Checks a generated scenario; panics with [`failure_message`] when the verdict is fail.
pub fn run(g: &Generated) {
    let v = check_scenario(&g.scenario);
    if !v.pass() {
        panic!("{}", failure_message(&v, &g.to_string()));
    }
}

/// Checks a scenario; panics with [`failure_message`] when the verdict is fail.
pub fn run_scenario(s: &Scenario) {
    let v = check_scenario(s);
    if !v.pass() {
        panic!("{}", failure_message(&v, &s.to_string()));
    }
}

/// The parser target. The bytes are read as text (invalid UTF-8 replaced), then:
/// parsing must not panic; when it succeeds, the printed scenario must parse again, print the
/// same text, and be the same scenario apart from source positions.
pub fn parse_never_panics(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(mut first) = parse(&text) else {
        return;
    };
    let printed = first.to_string();
    let mut again = match parse(&printed) {
        Ok(s) => s,
        Err(e) => panic!(
            "kmem parser: the printed scenario does not parse: {e}\n--- input ---\n{text}\n--- printed ---\n{printed}"
        ),
    };
    let reprinted = again.to_string();
    if reprinted != printed {
        panic!(
            "kmem parser: printing is not stable\n--- input ---\n{text}\n--- printed ---\n{printed}--- printed again ---\n{reprinted}"
        );
    }
    first.renumber();
    again.renumber();
    if first != again {
        panic!(
            "kmem parser: print then parse changed the scenario\n--- input ---\n{text}\n--- printed ---\n{printed}--- parsed ---\n{first:?}\n--- parsed again ---\n{again:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{scenario_from_bytes, GenConfig};

    #[test]
    fn a_passing_buddy_scenario_does_not_panic() {
        let s = parse("boot mem=32M\na = __get_free_page GFP_KERNEL\nfree_page a\n").unwrap();
        run_scenario(&s);
        run(&scenario_from_bytes(b"", &GenConfig::buddy()));
    }

    #[test]
    fn a_failing_scenario_panics_with_the_explanation_and_the_text() {
        // vmalloc is checked only once its oracle lands; until then (and if it ever fails)
        // the message must still have the header, the failures and the scenario.
        let s = parse("boot mem=32M\nv = vmalloc 4096\n").unwrap();
        let v = check_scenario(&s);
        if v.pass() {
            return;
        }
        let err = std::panic::catch_unwind(|| run_scenario(&s)).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.starts_with(FAIL_HEADER), "{msg}");
        assert!(msg.contains("--- scenario ---\nboot"), "{msg}");
        assert!(msg.contains("v = vmalloc 4096"), "{msg}");
    }

    #[test]
    fn the_parser_target_accepts_garbage_and_scenarios() {
        parse_never_panics(b"");
        parse_never_panics(b"\xff\xfe garbage = = |");
        parse_never_panics(
            b"boot mem=16M\np = alloc_pages GFP_KERNEL|__GFP_ZERO 2\n# c\n__free_pages p 2\n",
        );
    }
}
