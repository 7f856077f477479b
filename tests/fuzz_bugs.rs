//! The hand-written bugs of fuzz/bugs/ that scripts/hunt puts into core/ one at a time: each
//! patch says in its header what bug it stands for, what kind of allocator bug it models and
//! which libFuzzer target hunts it; that target exists with a seed corpus; the patch changes
//! core/ only; and it still applies to the tree (`git apply --check`, when git and a checkout
//! are at hand). A patch that goes stale fails here before a measurement finds it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn patches() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("fuzz/bugs"))
        .expect("fuzz/bugs/ is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .collect();
    v.sort();
    v
}

/// The header of a patch: its lines before the first `diff --git`.
fn header(text: &str) -> Vec<&str> {
    text.lines()
        .take_while(|l| !l.starts_with("diff --git "))
        .collect()
}

fn field<'a>(header: &[&'a str], name: &str) -> Option<&'a str> {
    header
        .iter()
        .find_map(|l| l.strip_prefix(name))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

#[test]
fn there_are_a_dozen_bugs_with_distinct_numbers() {
    let names: Vec<String> = patches()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.len() >= 12,
        "fuzz/bugs/ holds {} patches",
        names.len()
    );
    let mut numbers: Vec<&str> = names.iter().map(|n| &n[..2]).collect();
    for (n, name) in numbers.iter().zip(&names) {
        assert!(
            n.bytes().all(|b| b.is_ascii_digit()),
            "{name}: no NN- prefix"
        );
    }
    numbers.dedup();
    assert_eq!(numbers.len(), names.len(), "two patches share a number");
}

#[test]
fn every_patch_names_its_bug_and_an_existing_target_and_changes_core_only() {
    for p in patches() {
        let name = p.display();
        let text = std::fs::read_to_string(&p).unwrap();
        let h = header(&text);
        assert!(
            field(&h, "Bug:").is_some(),
            "{name}: no 'Bug:' line before the diff"
        );
        assert!(
            field(&h, "Models:").is_some(),
            "{name}: no 'Models:' line before the diff"
        );
        let target = field(&h, "Target:").unwrap_or_else(|| panic!("{name}: no 'Target:' line"));
        assert!(
            root()
                .join("fuzz/fuzz_targets")
                .join(format!("{target}.rs"))
                .is_file(),
            "{name}: target '{target}' is not in fuzz/fuzz_targets/"
        );
        assert!(
            root().join("corpus").join(target).is_dir(),
            "{name}: target '{target}' has no seed corpus corpus/{target}/"
        );
        let files: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("diff --git a/"))
            .collect();
        assert!(!files.is_empty(), "{name}: no diff");
        for f in files {
            assert!(f.starts_with("core/"), "{name}: changes {f}, outside core/");
        }
    }
}

#[test]
fn every_patch_still_applies() {
    let in_checkout = Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(root())
        .output()
        .is_ok_and(|o| o.status.success());
    if !in_checkout {
        eprintln!("skipped: no git, or not a git checkout");
        return;
    }
    for p in patches() {
        let out = Command::new("git")
            .arg("apply")
            .arg("--check")
            .arg(&p)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} no longer applies (stale): {}",
            p.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
