//! docs/engines.md's recipe, as written: a crate outside this repository (the template in
//! engines/template/, copied to a temporary directory) depends on kmemfuzz-engines by path,
//! implements HeapEngine for its own allocator, and its tests run it against the oracle.
//! Built offline against the packages already fetched for this workspace.

use std::path::Path;
use std::process::Command;

fn copy(from: &Path, to: &Path, root: &str) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            copy(&p, &to.join(&name), root);
        } else {
            let text = std::fs::read_to_string(&p)
                .unwrap()
                .replace("@KMEMFUZZ@", root);
            let name = name.strip_suffix(".in").unwrap_or(&name).to_string();
            std::fs::write(to.join(name), text).unwrap();
        }
    }
}

#[test]
fn the_recipe_builds_and_passes_from_a_crate_of_its_own() {
    let root = env!("CARGO_MANIFEST_DIR");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("recipe");
    let _ = std::fs::remove_dir_all(work.join("src"));
    copy(&Path::new(root).join("engines/template"), &work, root);
    // The workspace's lock file pins the same versions, so nothing is fetched.
    std::fs::copy(Path::new(root).join("Cargo.lock"), work.join("Cargo.lock")).unwrap();
    let adapter = std::fs::read_to_string(work.join("src/lib.rs")).unwrap();
    let lines = adapter
        .split("// ---- The adapter")
        .nth(1)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert!(lines <= 32, "the adapter is {lines} lines");
    let target = std::fs::read_to_string(work.join("fuzz/fuzz_targets/heap.rs")).unwrap();
    assert_eq!(target.lines().count(), 3);
    let out = Command::new(env!("CARGO"))
        .args(["test", "--offline", "--quiet"])
        .current_dir(&work)
        .env("CARGO_TARGET_DIR", work.join("target"))
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "cargo test in {}:\n{all}",
        work.display()
    );
    assert!(all.contains("2 passed"), "{all}");
}
