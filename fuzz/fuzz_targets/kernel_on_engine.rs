#![forbid(unsafe_code)]
#![no_main]
libfuzzer_sys::fuzz_target!(|i: kmem_oracle::KernelInput| kmemfuzz_engines::fuzz_kernel(&i.0));
