//! The short fuzz run of the ordinary suite: every target replays its seed corpus
//! (`fuzz/corpus/<target>/`), then a fixed number of inputs mutated from it with a seeded
//! generator, so each run tries the same inputs and a failure reproduces. Coverage-guided runs
//! are `scripts/fuzz`'s.

use std::path::{Path, PathBuf};

use wharf_fuzz_targets::TARGETS;

/// Mutated inputs per target: single parsers are cheap, whole-API inputs run up to eight
/// requests each.
const MUTATIONS_PARSER: usize = 10_000;
const MUTATIONS_API: usize = 1_500;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target)
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files.iter().map(|path| std::fs::read(path).expect("a corpus file")).collect()
}

/// xorshift64*: enough randomness for mutations, and the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// Bytes that matter to the grammars: separators, brackets, quotes, operators, digits.
const INTERESTING: &[u8] = b"\0\n{}[]\"\\:,.*?=&%<>!|()-+ 0123456789eE$/";

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut input = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(7) {
            0 if len > 0 => {
                let at = rng.below(len);
                input[at] ^= 1 << rng.below(8);
            }
            1 => {
                let at = rng.below(len + 1);
                input.insert(at, INTERESTING[rng.below(INTERESTING.len())]);
            }
            2 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(8)).min(len);
                input.drain(at..end);
            }
            3 if len > 0 => {
                // Repeat a chunk: nesting and long runs.
                let at = rng.below(len);
                let end = (at + 1 + rng.below(16)).min(len);
                let chunk = input[at..end].to_vec();
                for _ in 0..rng.below(64) {
                    input.splice(at..at, chunk.iter().copied());
                }
            }
            4 => {
                // Splice in part of another seed.
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let to = (from + 1 + rng.below(32)).min(other.len());
                    let at = rng.below(len + 1);
                    input.splice(at..at, other[from..to].iter().copied());
                }
            }
            5 if len > 0 => {
                let at = rng.below(len);
                input[at] = INTERESTING[rng.below(INTERESTING.len())];
            }
            _ => input.truncate(rng.below(len + 1)),
        }
    }
    input
}

#[test]
fn every_target_has_a_seed_corpus_and_a_cargo_fuzz_binary() {
    let bins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    for (name, _) in TARGETS {
        assert!(!corpus(name).is_empty(), "fuzz/corpus/{name} is empty");
        let bin = bins.join(format!("{name}.rs"));
        let source = std::fs::read_to_string(&bin).unwrap_or_else(|err| panic!("{}: {err}", bin.display()));
        assert!(source.contains(&format!("wharf_fuzz_targets::{name}(")), "{} does not call its target", bin.display());
    }
}

#[test]
fn every_target_survives_its_corpus_and_a_short_mutation_run() {
    for (name, target) in TARGETS {
        let seeds = corpus(name);
        for seed in &seeds {
            target(seed);
        }
        let rounds = if name.ends_with("_api") || name.starts_with("sqs_") { MUTATIONS_API } else { MUTATIONS_PARSER };
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
        for round in 0..rounds {
            let input = mutate(&mut rng, &seeds);
            let outcome = std::panic::catch_unwind(|| target(&input));
            if outcome.is_err() {
                let saved = std::env::temp_dir().join(format!("wharf-fuzz-{name}-{round}"));
                let _ = std::fs::write(&saved, &input);
                panic!("{name} failed on mutated input {round}, saved to {}", saved.display());
            }
        }
    }
}
