//! Replays every kept fuzz input through its target, in the normal test run: the seeds and
//! the inputs that once crashed a parser (`fuzz/seeds/<target>/`, `seed-*` and `found-*`)
//! and the corpus fuzzing grew (`fuzz/corpus/<target>/`, minimized) — an input that once
//! crashed fails the build if it crashes again.
//! Also checks that the recorded seeds get through their targets, so that a target cannot
//! stop short of the parsers it is meant to reach (a wrong context would refuse everything).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

fn files_in(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(kind)
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Every kept input of a target: its seeds and found inputs, then its grown corpus.
fn corpus(target: &str) -> Vec<PathBuf> {
    let mut all = files_in("seeds", target);
    all.extend(files_in("corpus", target));
    all
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    files_in("seeds", target)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("seed-")
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_kept_input_runs_through_its_target_without_a_panic() {
    let mut total = 0;
    for (name, target) in portcullis_fuzz::TARGETS {
        let files = corpus(name);
        assert!(!files.is_empty(), "{name}: no corpus");
        for f in files {
            let data = std::fs::read(&f).unwrap();
            if std::panic::catch_unwind(|| target(&data)).is_err() {
                panic!("{name}: {} panics", f.display());
            }
            total += 1;
        }
    }
    eprintln!("replayed {total} inputs");
}

/// A brief, unguided run of every target inside the test suite (the instrumented libFuzzer
/// build is too long for it): inputs of the corpus mutated at random — bytes flipped, cut,
/// repeated, spliced with another input — each through its target. The seed is printed; a
/// failure names the mutated input, to be kept in the corpus once fixed.
#[test]
fn every_target_survives_random_mutations_of_its_corpus() {
    use rand::{Rng, SeedableRng};
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    eprintln!("FUZZ_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let per_target = 3_000;
    for (name, target) in portcullis_fuzz::TARGETS {
        let inputs: Vec<Vec<u8>> = corpus(name)
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        for _ in 0..per_target {
            let mut data = inputs[rng.gen_range(0..inputs.len())].clone();
            for _ in 0..rng.gen_range(1..4) {
                let len = data.len();
                match rng.gen_range(0..5) {
                    0 if len > 0 => {
                        let i = rng.gen_range(0..len);
                        data[i] ^= 1 << rng.gen_range(0..8);
                    }
                    1 if len > 0 => data.truncate(rng.gen_range(0..len)),
                    2 if len > 0 => {
                        let i = rng.gen_range(0..len);
                        data[i] = rng.gen();
                    }
                    3 if len > 1 => {
                        let (a, b) = (rng.gen_range(0..len), rng.gen_range(0..len));
                        let piece = data[a.min(b)..a.max(b)].to_vec();
                        let at = rng.gen_range(0..len);
                        data.splice(at..at, piece);
                    }
                    _ => {
                        let other = &inputs[rng.gen_range(0..inputs.len())];
                        let cut = rng.gen_range(0..=other.len());
                        let at = rng.gen_range(0..=data.len());
                        data.truncate(at);
                        data.extend_from_slice(&other[cut..]);
                    }
                }
            }
            if std::panic::catch_unwind(|| target(&data)).is_err() {
                panic!("{name} panics on {data:?} (FUZZ_SEED={seed})");
            }
        }
    }
}

#[test]
fn the_recorded_registrations_sign_ins_and_blob_verify_in_their_targets() {
    // One context per statement format: packed (3), tpm, android-key, android-safetynet,
    // apple, fido-u2f, none.
    assert_eq!(portcullis_fuzz::webauthn_contexts().len(), 9);
    let reg = seeds("registration");
    assert_eq!(reg.len(), 9, "a seed per recorded registration");
    for (name, data) in &reg {
        assert!(portcullis_fuzz::registration_verifies(data), "{name}");
    }
    let sign_ins = seeds("assertion");
    assert_eq!(sign_ins.len(), 2, "Ed25519 and ES256");
    for (name, data) in &sign_ins {
        assert!(portcullis_fuzz::assertion_verifies(data), "{name}");
        // A byte of the signature changed: refused.
        let mut f = portcullis_fuzz::frame::Fields::new(data);
        let which = f.byte().unwrap();
        let parts: Vec<&[u8]> = (0..4).map(|_| f.part().unwrap()).collect();
        let mut sig = parts[3].to_vec();
        let mid = sig.len() / 2;
        sig[mid] ^= 1;
        let bad =
            portcullis_fuzz::frame::join(which, &[parts[0], parts[1], parts[2], &sig, f.rest()]);
        assert!(
            !portcullis_fuzz::assertion_verifies(&bad),
            "{name} tampered"
        );
    }
    let blob = seeds("mds_blob");
    assert_eq!(blob.len(), 1);
    assert!(portcullis_fuzz::mds_blob_verifies(&blob[0].1));
    let mut bad = blob[0].1.clone();
    bad.pop();
    assert!(!portcullis_fuzz::mds_blob_verifies(&bad), "a cut BLOB");
}
