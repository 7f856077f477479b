//! Every scenario under corpus/known-bugs/ is a bug found in someone else's allocator
//! (docs/engines.md). Each is replayed by the `kmemfuzz` command in its own process (some
//! abort it) and must still fail, with every `# expect: TEXT` of the file in its output.
//! The expectations are those of a debug build (debug assertions, the standard library's
//! precondition checks), which is what `cargo test` and `cargo fuzz` build.
#![cfg(debug_assertions)]

use std::process::Command;

#[test]
fn every_known_bug_is_still_found() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/known-bugs");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "kmem"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no known bugs under {dir}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let expect: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(!expect.is_empty(), "{}: no '# expect:' line", f.display());
        let out = Command::new(env!("CARGO_BIN_EXE_kmemfuzz"))
            .arg("replay")
            .arg(&f)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Fail (1) or die (a signal); never pass (0) or bad input (2).
        assert!(
            !matches!(out.status.code(), Some(0) | Some(2)),
            "{}: {:?}\n{all}",
            f.display(),
            out.status
        );
        for e in expect {
            assert!(all.contains(e), "{}: no '{e}' in\n{all}", f.display());
        }
    }
}
