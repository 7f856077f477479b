#![forbid(unsafe_code)]
#![no_main]
libfuzzer_sys::fuzz_target!(|input: kmem_oracle::KernelInput| kmemfuzz_engines::machine::fuzz_kernel(&input.0));
