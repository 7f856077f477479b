#![forbid(unsafe_code)]
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kmemfuzz_engines::fuzz("engine_bsa_frame", data));
