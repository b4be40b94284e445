//! Load: 64 concurrent verifies with at most 4 hashes in flight keep the process's peak
//! resident memory under 5 × 19 MiB above where it started, and the same load with the
//! bound at 64 goes far above it (so the measurement can fail). Peak RSS is the kernel's
//! VmHWM, reset through /proc/self/clear_refs; this file holds one test so nothing else
//! runs in the process meanwhile. Linux only.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // helpers outside #[test] fns

use std::sync::{Arc, Barrier};
use std::time::Duration;

use portcullis_core::Provider;
use portcullis_passwords::Passwords;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Runs 64 concurrent verifies of one OWASP hash; returns (peak RSS growth in MiB, peak
/// hashes in flight).
fn load(max_in_flight: usize) -> (f64, usize) {
    let p = Arc::new(
        Passwords::builder(Provider::system())
            .max_in_flight(max_in_flight)
            .max_wait(Duration::from_secs(120))
            .build()
            .unwrap(),
    );
    let stored = Arc::new(p.hash("load test password").unwrap());
    let barrier = Arc::new(Barrier::new(64));
    // Reset the high-water mark to the current RSS (Linux >= 4.0).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kib("VmRSS:");
    let threads: Vec<_> = (0..64)
        .map(|_| {
            let (p, stored, barrier) = (p.clone(), stored.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                assert!(
                    p.verify("load test password", Some(&stored))
                        .unwrap()
                        .is_verified()
                );
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let peak = status_kib("VmHWM:");
    let growth = peak.saturating_sub(before) as f64 / 1024.0;
    (growth, p.in_flight_stats().peak)
}

#[test]
fn four_in_flight_bound_peak_memory_and_sixty_four_do_not() {
    if !cfg!(target_os = "linux") {
        eprintln!("SKIPPED: peak RSS is read from /proc (Linux only)");
        return;
    }
    let (bounded, bounded_peak) = load(4);
    let (unbounded, unbounded_peak) = load(64);
    eprintln!(
        "peak RSS growth: 4 in flight {bounded:.1} MiB (peak {bounded_peak} hashes), 64 in flight {unbounded:.1} MiB (peak {unbounded_peak})"
    );
    assert_eq!(bounded_peak, 4);
    assert!(
        bounded < 5.0 * 19.0,
        "4 in flight grew RSS by {bounded:.1} MiB"
    );
    assert!(unbounded_peak > 4);
    assert!(
        unbounded > 5.0 * 19.0,
        "64 in flight grew RSS by only {unbounded:.1} MiB"
    );
}
