#![forbid(unsafe_code)]
#![no_main]
libfuzzer_sys::fuzz_target!(|input: kmem_oracle::SlabInput| kmem_oracle::fuzz::run(&input.0));
