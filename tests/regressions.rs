//! Every scenario under corpus/regressions/ is replayed as its own test, which fails with
//! the verdict's explanation; its `kmemfuzz replay` text is a snapshot
//! (tests/snapshots/regressions__<file>.snap), so a change in what users see is reviewed:
//!
//!     INSTA_UPDATE=always cargo test --test regressions   # then review git diff tests/snapshots

fn replay(path: &str) {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"));
    let s = kmem_oracle::parse(&text).unwrap_or_else(|e| panic!("{path}:{e}"));
    let v = kmem_oracle::check(&s);
    let notes = kmemfuzz::caught::attribute(&s, &v);
    let shown = kmemfuzz::render::text(&s.boot, &v, &notes);
    assert!(v.pass(), "{path}: verdict fail\n{}\n{shown}", v.explain());
    // Replay is deterministic: the same output twice.
    let json = kmemfuzz::json::replay(path, &s.boot, &v, &notes, false);
    let v2 = kmem_oracle::check(&s);
    assert_eq!(
        json,
        kmemfuzz::json::replay(
            path,
            &s.boot,
            &v2,
            &kmemfuzz::caught::attribute(&s, &v2),
            false
        ),
        "{path}: replay is not deterministic"
    );
    // docs/scenario.md's fields are what they were, byte for byte; the rest only adds.
    assert_eq!(
        kmemfuzz::json::replay(path, &s.boot, &v, &notes, true),
        v.to_json(),
        "{path}: --json changed a field of docs/scenario.md"
    );
    // What the user sees, through the command itself.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kmemfuzz"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["replay", path])
        .output()
        .expect("run kmemfuzz");
    assert_eq!(out.status.code(), Some(0), "{path}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), shown, "{path}");
    let name = path.trim_start_matches("corpus/regressions/");
    insta::assert_snapshot!(name, shown);
}

include!(concat!(env!("OUT_DIR"), "/regressions.rs"));
