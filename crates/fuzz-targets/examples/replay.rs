//! Runs one target on files: `cargo run -p wharf-fuzz-targets --example replay -- TARGET FILE...`
//! (with `WHARF_FUZZ_TRACE=1` to see each request's answer), to reproduce a finding of
//! `scripts/fuzz` or to check what a corpus entry reaches.

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().expect("usage: replay TARGET FILE...");
    let (_, target) = wharf_fuzz_targets::TARGETS
        .iter()
        .find(|(known, _)| *known == name)
        .unwrap_or_else(|| panic!("no target {name}"));
    for file in args {
        let data = std::fs::read(&file).unwrap_or_else(|err| panic!("{file}: {err}"));
        target(&data);
        println!("{file}: ok");
    }
}
