//! The checker formats the kernel's report texts only when it keeps the steps that show
//! them (replay); fuzzing judges reports by kind, and a WARN's by its site. Both ways must
//! reach the same verdict: the same misuse, failures and taint, on the kernel model and on
//! machines with a broken seam (whose verdicts fail, with reports of every kind). And the
//! site a report carries must be the one its text's WARNING line names: the once-only
//! judgement reads the site where it used to search the text.

mod broken;
mod common;

use broken::slab::{DoubleFreeList, PoisonUnchecked, RedzoneOffByOne};
use common::inputs;
use kmem::{Buddy, KmemSeams, PageAllocator, Seams};
use kmem_oracle::{check_with_seams, scenario_from_bytes, GenConfig, Options};

/// Everything of a verdict but its steps (which only the replay keeps).
fn judged(bytes: &[u8], cfg: &GenConfig, seams: &dyn Seams, record_steps: bool) -> String {
    let make = |z, r: &[(u64, u64)]| -> Box<dyn PageAllocator> { Box::new(Buddy::new(z, r)) };
    let g = scenario_from_bytes(bytes, cfg);
    let v = check_with_seams(&g.scenario, Options { record_steps }, &make, seams);
    for r in v.steps.iter().flat_map(|st| &st.reports) {
        assert_eq!(r.site.as_deref(), warned_at(&r.text), "{}", r.text);
    }
    format!(
        "{:?}\n{:?}\n{:?} {:?}",
        v.misuse, v.failures, v.tainted, v.taint
    )
}

/// The `file:line` of the last WARNING line of a report's text.
fn warned_at(text: &str) -> Option<&str> {
    text.lines()
        .rfind(|l| l.starts_with("WARNING: CPU: "))
        .and_then(|l| l.split(" at ").nth(1))
        .and_then(|rest| rest.split(' ').next())
}

fn same_both_ways(cfg: &GenConfig, seed: u64, n: usize, seams: &dyn Seams) -> usize {
    let mut failing = 0;
    for (i, bytes) in inputs(seed, n).iter().enumerate() {
        let with = judged(bytes, cfg, seams, true);
        let without = judged(bytes, cfg, seams, false);
        assert_eq!(with, without, "input {i} of seed {seed:#x}");
        failing += usize::from(with.contains("Failure"));
    }
    failing
}

fn misuse_heavy(mut cfg: GenConfig) -> GenConfig {
    cfg.misuse_percent = 40;
    cfg.max_ops = 120;
    cfg
}

#[test]
fn every_target_judges_the_same_without_report_texts() {
    for (i, (_, cfg)) in GenConfig::targets().into_iter().enumerate() {
        same_both_ways(&misuse_heavy(cfg), 0x7465_7874 + i as u64, 40, &KmemSeams);
    }
}

#[test]
fn failing_verdicts_are_the_same_without_report_texts() {
    let mut cfg = misuse_heavy(GenConfig::slab());
    cfg.boot = Some(common::full_slub_debug());
    let seams: [&dyn Seams; 3] = [&DoubleFreeList, &PoisonUnchecked, &RedzoneOffByOne];
    let failing: usize = seams
        .iter()
        .map(|s| same_both_ways(&cfg, 0x6661_696c, 60, *s))
        .sum();
    assert!(
        failing > 0,
        "no broken seam failed a verdict: nothing compared"
    );
}
