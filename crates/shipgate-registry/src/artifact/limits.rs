//! Bounds on what reading an archive may cost: hostile archives (gzip and zip bombs,
//! millions of entries, a megabyte-long `package.json`) are refused, not expanded.

use std::io::{self, Read};

/// How much an archive may expand to before it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most entries (files, directories) an archive may hold.
    pub max_entries: u64,
    /// Most bytes an archive may expand to, over all its entries (for zip files, the sum
    /// of the sizes its directory declares; entries actually read are capped too).
    pub max_expanded_bytes: u64,
    /// Most bytes a metadata file (`package.json`, `METADATA`, `Cargo.toml`, ...) may have.
    pub max_metadata_bytes: u64,
}

impl Limits {
    /// Limits with the given values.
    pub fn new(max_entries: u64, max_expanded_bytes: u64, max_metadata_bytes: u64) -> Self {
        Limits {
            max_entries,
            max_expanded_bytes,
            max_metadata_bytes,
        }
    }
}

impl Default for Limits {
    /// 100 000 entries, 4 GiB expanded, 8 MiB per metadata file (a wheel's `METADATA`
    /// carries the whole README).
    fn default() -> Self {
        Limits {
            max_entries: 100_000,
            max_expanded_bytes: 4 << 30,
            max_metadata_bytes: 8 << 20,
        }
    }
}

/// The marker error a [`CappedReader`] returns once its budget is spent, so that callers
/// can tell "too large" apart from "corrupt".
#[derive(Debug)]
pub(crate) struct BudgetExceeded;

impl std::fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("expanded size limit exceeded")
    }
}

impl std::error::Error for BudgetExceeded {}

/// Whether an I/O error is a [`CappedReader`] running out of budget.
pub(crate) fn is_budget_exceeded(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<BudgetExceeded>())
}

/// A reader that fails with [`BudgetExceeded`] once more than `budget` bytes came through.
pub(crate) struct CappedReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> CappedReader<R> {
    pub(crate) fn new(inner: R, budget: u64) -> Self {
        CappedReader {
            inner,
            remaining: budget,
        }
    }
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Ask for one byte more than the budget allows, so that an archive of exactly the
        // budget passes and one byte more is caught.
        let allowed = usize::try_from(self.remaining.saturating_add(1))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..allowed])?;
        let n64 = n as u64;
        if n64 > self.remaining {
            return Err(io::Error::other(BudgetExceeded));
        }
        self.remaining -= n64;
        Ok(n)
    }
}

/// Reads a whole entry, refusing one longer than `max` bytes: `Ok(None)` when too long.
pub(crate) fn read_at_most(reader: &mut dyn Read, max: u64) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    reader.take(max.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Ok(None);
    }
    Ok(Some(buf))
}
