#![forbid(unsafe_code)]
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kmem_oracle::fuzz::parse_never_panics(data));
