//! Every scenario under corpus/regressions/ is replayed as its own test, which fails with
//! the verdict's explanation.

fn replay(path: &str) {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"));
    let s = kmem_oracle::parse(&text).unwrap_or_else(|e| panic!("{path}:{e}"));
    let v = kmem_oracle::check(&s);
    assert!(
        v.pass(),
        "{path}: verdict fail\n{}\n{}",
        v.explain(),
        v.to_text()
    );
    // Replay is deterministic: the same output twice.
    assert_eq!(
        v.to_json(),
        kmem_oracle::check(&s).to_json(),
        "{path}: replay is not deterministic"
    );
}

include!(concat!(env!("OUT_DIR"), "/regressions.rs"));
