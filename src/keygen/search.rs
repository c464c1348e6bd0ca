//! The threaded prime search: a pool of threads shares the candidates of several searches,
//! lowest candidate first, so that the prime found for each start is the first one at or above
//! it, whatever the number of threads and their timing.
//!
//! A candidate that passes the Miller-Rabin test to base 2 is confirmed by the strong Lucas
//! test and, at the same time and as separate jobs of the pool, put through the independent
//! [final check](super::primality::final_check_base), one job per base: on several threads the
//! final check of one prime overlaps with the Lucas test and with the other searches, instead
//! of waiting for every search to end. Only the Miller-Rabin and Lucas tests decide which
//! candidate is a search's prime (so the primes stay those of `rsa` 0.10); a prime found that
//! fails the final check makes [`search_primes`] fail ([`Failure::FinalCheck`]).

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crypto_bigint::BoxedUint;
use zeroize::{Zeroize, Zeroizing};

use super::Failure;
use super::primality::{FINAL_CHECK_BASES, confirm, final_check_base, quick_test};
use super::sieve::{Segment, SieveTable, add_small};

/// The strong Lucas test a search confirms its candidates with: [`confirm`], or a broken one
/// in the tests of the final check.
pub(super) type LucasTest = dyn Fn(&BoxedUint) -> bool + Sync;

/// Where a candidate is in its search: segment, then survivor index.
type Pos = (usize, usize);

/// Encodes a position for the lock-free "found" marker (lower is earlier).
fn encode(pos: Pos) -> u64 {
    let seg = u64::try_from(pos.0).unwrap_or(u64::MAX >> 32);
    let idx = u64::try_from(pos.1).unwrap_or(u64::from(u32::MAX));
    (seg << 32) | idx
}

/// One prime search, from one start.
#[derive(Debug)]
struct Search {
    bits: u32,
    start: Zeroizing<Vec<u64>>,
    segment_len: usize,
    segments: Vec<Arc<Segment>>,
    /// A thread is sieving the next segment.
    building: bool,
    /// The next candidate to hand out.
    next: Pos,
    /// Candidates being tested.
    in_flight: Vec<Pos>,
    /// Candidates that passed the quick test and are being confirmed.
    confirming: Vec<Confirming>,
    /// The lowest confirmed prime so far, and whether it passed the final check.
    found: Option<(Pos, BoxedUint, bool)>,
    /// Every candidate was handed out (the search reached `2^bits`).
    exhausted: bool,
}

impl Search {
    /// Whether the result of the search is known: its lowest prime, or that it has none.
    fn resolved(&self) -> bool {
        match &self.found {
            Some((f, _, _)) => self.in_flight.iter().all(|p| p > f),
            None => self.exhausted && self.in_flight.is_empty(),
        }
    }
}

/// A candidate that passed the quick test: the outcomes of its strong Lucas test and of each
/// base of its final check, as they come in (`None`: not known yet; a test given up because
/// the candidate can no longer matter counts as failed).
#[derive(Debug)]
struct Confirming {
    pos: Pos,
    candidate: Zeroizing<Vec<u64>>,
    lucas: Option<bool>,
    checks: [Option<bool>; FINAL_CHECK_BASES.len()],
    /// The bases (indices) whose check no thread has taken yet.
    untaken: Vec<usize>,
}

/// Work for a thread.
enum Job {
    /// Check the candidate at `pos` of search `search` to the final check's base `base`.
    Check {
        search: usize,
        pos: Pos,
        base: usize,
        candidate: Zeroizing<Vec<u64>>,
    },
    /// Test the candidate at `pos` of search `search`.
    Test {
        search: usize,
        pos: Pos,
        candidate: Zeroizing<Vec<u64>>,
    },
    /// Sieve the next segment of search `search`: `len` odd numbers from `base`, below 2^`bits`.
    Sieve {
        search: usize,
        base: Zeroizing<Vec<u64>>,
        bits: u32,
        len: usize,
    },
}

/// The state shared by the threads of one search.
struct Shared<'t> {
    table: &'t SieveTable,
    lucas: &'t LucasTest,
    state: Mutex<Vec<Search>>,
    wake: Condvar,
    /// Set once every search is resolved: the threads stop.
    done: AtomicBool,
    /// Per search, the encoded position of its lowest confirmed prime (`u64::MAX`: none yet),
    /// read without the lock to give up tests that can no longer matter.
    found_at: Vec<AtomicU64>,
}

impl Shared<'_> {
    fn lock(&self) -> MutexGuard<'_, Vec<Search>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next job, waiting while there is none; `None` when every search is resolved.
    fn next_job(&self) -> Option<Job> {
        let mut searches = self.lock();
        loop {
            if self.done.load(AtomicOrdering::Acquire) {
                return None;
            }
            if let Some(job) = take_job(&mut searches) {
                return Some(job);
            }
            // `take_job` may have just found a search exhausted.
            if searches.iter().all(Search::resolved) {
                self.done.store(true, AtomicOrdering::Release);
                drop(searches);
                self.wake.notify_all();
                return None;
            }
            searches = self
                .wake
                .wait(searches)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Records a change, wakes the waiting threads, and ends the search once all is resolved.
    fn update(&self, f: impl FnOnce(&mut Vec<Search>)) {
        let mut searches = self.lock();
        f(&mut searches);
        if searches.iter().all(Search::resolved) {
            self.done.store(true, AtomicOrdering::Release);
        }
        drop(searches);
        self.wake.notify_all();
    }

    /// A thread's loop.
    fn work(&self) {
        let _guard = StopOnPanic(self);
        while let Some(job) = self.next_job() {
            match job {
                Job::Sieve {
                    search,
                    base,
                    bits,
                    len,
                } => {
                    let segment = Segment::sieve(self.table, base, bits, len);
                    self.update(|s| {
                        let s = &mut s[search];
                        s.segments.push(Arc::new(segment));
                        s.building = false;
                    });
                }
                Job::Test {
                    search,
                    pos,
                    candidate,
                } => self.test(search, pos, &candidate),
                Job::Check {
                    search,
                    pos,
                    base,
                    candidate,
                } => {
                    let passed = !self.stopped(search, pos) && final_check_base(&candidate, base);
                    self.update(|s| {
                        let s = &mut s[search];
                        if let Some(c) = s.confirming.iter_mut().find(|c| c.pos == pos) {
                            c.checks[base] = Some(passed);
                        }
                        settle(s, pos, &self.found_at[search]);
                    });
                }
            }
        }
    }

    /// Whether a test of the candidate at `pos` of search `search` can no longer matter.
    fn stopped(&self, search: usize, pos: Pos) -> bool {
        self.done.load(AtomicOrdering::Relaxed)
            || self.found_at[search].load(AtomicOrdering::Relaxed) < encode(pos)
    }

    /// Tests one candidate and records the outcome: the quick test, then, if it passed, the
    /// strong Lucas test here while other threads may take the final check's bases.
    fn test(&self, search: usize, pos: Pos, candidate: &Zeroizing<Vec<u64>>) {
        let stop = || self.stopped(search, pos);
        if quick_test(candidate, &stop) != Some(true) {
            return self.update(|s| s[search].in_flight.retain(|p| *p != pos));
        }
        self.update(|s| {
            s[search].confirming.push(Confirming {
                pos,
                candidate: candidate.clone(),
                lucas: None,
                checks: [None; FINAL_CHECK_BASES.len()],
                untaken: (0..FINAL_CHECK_BASES.len()).collect(),
            });
        });
        let mut n = BoxedUint::from_words(candidate.iter().copied());
        let prime = !stop() && (self.lucas)(&n);
        n.zeroize();
        self.update(|s| {
            let s = &mut s[search];
            if let Some(c) = s.confirming.iter_mut().find(|c| c.pos == pos) {
                c.lucas = Some(prime);
            }
            settle(s, pos, &self.found_at[search]);
        });
    }
}

/// Once every test of the confirming candidate at `pos` is done: ends it, and makes it the
/// search's prime if the strong Lucas test passed it and no lower prime was found. Whether it
/// passed the final check is recorded with it (it does not change which prime is found).
fn settle(s: &mut Search, pos: Pos, found_at: &AtomicU64) {
    let Some(i) = s.confirming.iter().position(|c| c.pos == pos) else {
        return;
    };
    let c = &s.confirming[i];
    let (Some(prime), true) = (c.lucas, c.checks.iter().all(Option::is_some)) else {
        return;
    };
    let checked = c.checks.iter().all(|&r| r == Some(true));
    let mut c = s.confirming.swap_remove(i);
    s.in_flight.retain(|p| *p != pos);
    if prime && s.found.as_ref().is_none_or(|(f, _, _)| pos < *f) {
        found_at.store(encode(pos), AtomicOrdering::Relaxed);
        let winner = BoxedUint::from_words(c.candidate.iter().copied());
        if let Some((_, mut old, _)) = s.found.replace((pos, winner, checked)) {
            old.zeroize();
        }
    }
    c.candidate.zeroize();
}

/// Stops the other threads if this one panics, so that the scope ends and re-raises the
/// panic instead of waiting forever for this thread's results.
struct StopOnPanic<'s, 't>(&'s Shared<'t>);

impl Drop for StopOnPanic<'_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.done.store(true, AtomicOrdering::Release);
            self.0.wake.notify_all();
        }
    }
}

/// Hands out the lowest useful job, if any: the final check of a confirming candidate first
/// (it is needed to settle it), else the next candidate or segment.
fn take_job(searches: &mut [Search]) -> Option<Job> {
    for (index, s) in searches.iter_mut().enumerate() {
        for c in &mut s.confirming {
            if let Some(base) = c.untaken.pop() {
                return Some(Job::Check {
                    search: index,
                    pos: c.pos,
                    base,
                    candidate: c.candidate.clone(),
                });
            }
        }
    }
    for (index, s) in searches.iter_mut().enumerate() {
        if s.found.is_some() || !s.confirming.is_empty() || s.exhausted {
            continue;
        }
        loop {
            if let Some(segment) = s.segments.get(s.next.0) {
                if s.next.1 < segment.survivors.len() {
                    let pos = s.next;
                    s.next.1 += 1;
                    s.in_flight.push(pos);
                    return Some(Job::Test {
                        search: index,
                        pos,
                        candidate: segment.candidate(pos.1),
                    });
                }
                if segment.last {
                    s.exhausted = true;
                    break;
                }
                s.next = (s.next.0 + 1, 0);
                continue;
            }
            if !s.building {
                s.building = true;
                let offset = 2 * s.segment_len * s.segments.len();
                return Some(Job::Sieve {
                    search: index,
                    base: add_small(&s.start, u64::try_from(offset).unwrap_or(u64::MAX)),
                    bits: s.bits,
                    len: s.segment_len,
                });
            }
            break;
        }
    }
    None
}

/// For each start (bits, words), the first prime at or above it (stepping by 2) below
/// `2^bits`, or `None` if there is none. The result does not depend on `threads`.
///
/// # Errors
///
/// [`Failure::FinalCheck`] if a prime found fails the final check.
pub(super) fn search_primes(
    table: &SieveTable,
    starts: &[(u32, Zeroizing<Vec<u64>>)],
    threads: NonZeroUsize,
) -> Result<Vec<Option<BoxedUint>>, Failure> {
    search_primes_with(table, starts, threads, &confirm)
}

/// [`search_primes`] with the given strong Lucas test.
pub(super) fn search_primes_with(
    table: &SieveTable,
    starts: &[(u32, Zeroizing<Vec<u64>>)],
    threads: NonZeroUsize,
    lucas: &LucasTest,
) -> Result<Vec<Option<BoxedUint>>, Failure> {
    let searches = starts
        .iter()
        .map(|(bits, start)| Search {
            bits: *bits,
            start: start.clone(),
            // Expected gap between primes among odd numbers: ln(2^bits)/2 ≈ 0.35·bits; four
            // times the bit size leaves a second segment for about 1 search in 100,000.
            segment_len: (*bits as usize * 4).next_multiple_of(64),
            segments: Vec::new(),
            building: false,
            next: (0, 0),
            in_flight: Vec::new(),
            confirming: Vec::new(),
            found: None,
            exhausted: false,
        })
        .collect::<Vec<_>>();
    let shared = Shared {
        table,
        lucas,
        found_at: searches.iter().map(|_| AtomicU64::new(u64::MAX)).collect(),
        state: Mutex::new(searches),
        wake: Condvar::new(),
        done: AtomicBool::new(starts.is_empty()),
    };
    std::thread::scope(|scope| {
        for _ in 0..threads.get() {
            scope.spawn(|| shared.work());
        }
    });
    let searches = shared
        .state
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let mut primes = Vec::with_capacity(searches.len());
    let mut failed = false;
    for mut s in searches {
        match s.found.take() {
            Some((_, prime, true)) => primes.push(Some(prime)),
            Some((_, mut prime, false)) => {
                prime.zeroize();
                failed = true;
            }
            None => primes.push(None),
        }
    }
    if failed {
        for mut prime in primes.into_iter().flatten() {
            prime.zeroize();
        }
        return Err(Failure::FinalCheck);
    }
    Ok(primes)
}
