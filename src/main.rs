#![forbid(unsafe_code)]

fn main() {
    std::process::exit(kmemfuzz::cli::main(std::env::args().skip(1).collect()));
}
