//! The adapter against kmemfuzz's engine oracle, without a fuzzer: seeded inputs, and a
//! reproducer replayed as text.

#[test]
fn seeded_inputs_pass() {
    let mut x: u64 = 1;
    for _ in 0..200 {
        let data: Vec<u8> = (0..512)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect();
        kmemfuzz_engines::fuzz_heap::<my_alloc::Engine>(&data);
    }
}

#[test]
fn a_reproducer_replays_as_text() {
    let text = "engine my-first-fit arena=4K\na = allocate 100 64\nwrite a 100 0x41\nfree a\n";
    let (pass, out) = kmemfuzz_engines::replay_heap::<my_alloc::Engine>(text).unwrap();
    assert!(pass, "{out}");
    assert!(out.contains("verdict: pass"), "{out}");
}
