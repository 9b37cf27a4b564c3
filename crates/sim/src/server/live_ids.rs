//! The sorted set of live record ids, kept as a base range plus small sorted deltas.
//!
//! The simulator serves millions of generated records but sees only thousands of changes, so a
//! plain `Vec<u64>` of every live id would cost far more memory than the changes themselves.
//! [`LiveIds`] holds the generator's contiguous id range, the ids removed from it and the ids
//! added after it, and answers "the `n`-th live id" (offset paging) in `O(log changes)`.

/// A sorted set of ids: `base_start..base_start + base_len` minus `removed`, plus `added`.
#[derive(Debug, Clone)]
pub struct LiveIds {
    base_start: u64,
    base_len: u64,
    /// Ids removed from the base range, sorted ascending.
    removed: Vec<u64>,
    /// Ids beyond the base range, sorted ascending.
    added: Vec<u64>,
}

impl LiveIds {
    /// The full range `base_start..base_start + base_len`.
    pub fn new(base_start: u64, base_len: u64) -> LiveIds {
        LiveIds { base_start, base_len, removed: Vec::new(), added: Vec::new() }
    }

    fn base_end(&self) -> u64 {
        self.base_start + self.base_len
    }

    fn in_base(&self, id: u64) -> bool {
        (self.base_start..self.base_end()).contains(&id)
    }

    fn num_live_base(&self) -> u64 {
        self.base_len - self.removed.len() as u64
    }

    /// Number of live ids.
    pub fn len(&self) -> u64 {
        self.num_live_base() + self.added.len() as u64
    }

    /// Whether no id is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `id` is live.
    pub fn contains(&self, id: u64) -> bool {
        if self.in_base(id) {
            self.removed.binary_search(&id).is_err()
        } else {
            self.added.binary_search(&id).is_ok()
        }
    }

    /// Removes `id`; returns whether it was live.
    pub fn remove(&mut self, id: u64) -> bool {
        if self.in_base(id) {
            match self.removed.binary_search(&id) {
                Ok(_) => false,
                Err(position) => {
                    self.removed.insert(position, id);
                    true
                }
            }
        } else {
            match self.added.binary_search(&id) {
                Ok(position) => {
                    self.added.remove(position);
                    true
                }
                Err(_) => false,
            }
        }
    }

    /// Adds an id beyond the base range; returns whether it was new. Ids inside the base range
    /// are only ever removed, never re-added.
    pub fn insert_added(&mut self, id: u64) -> bool {
        debug_assert!(id >= self.base_end(), "added ids continue after the base range");
        match self.added.binary_search(&id) {
            Ok(_) => false,
            Err(position) => {
                self.added.insert(position, id);
                true
            }
        }
    }

    /// The live id at rank `offset` (0-based), if there are that many.
    pub fn nth(&self, offset: u64) -> Option<u64> {
        let live_base = self.num_live_base();
        if offset < live_base {
            // Before `removed[i]` lie `removed[i] - base_start - i` live ids, a non-decreasing
            // sequence: the removed ids at or before the answer are those with that count
            // `<= offset`, and each of them pushes the answer one further.
            let (mut low, mut high) = (0, self.removed.len());
            while low < high {
                let middle = low + (high - low) / 2;
                if self.removed[middle] - self.base_start - middle as u64 <= offset {
                    low = middle + 1;
                } else {
                    high = middle;
                }
            }
            Some(self.base_start + offset + low as u64)
        } else {
            self.added.get((offset - live_base) as usize).copied()
        }
    }

    /// Up to `limit` live ids starting at rank `offset`, ascending.
    pub fn page(&self, offset: u64, limit: usize) -> Vec<u64> {
        let mut ids = Vec::with_capacity(limit.min(self.len().saturating_sub(offset) as usize));
        let Some(first) = self.nth(offset) else {
            return ids;
        };
        let mut candidate = first;
        let mut removed_cursor = self.removed.partition_point(|&id| id < first);
        while ids.len() < limit && candidate < self.base_end() {
            if self.removed.get(removed_cursor) == Some(&candidate) {
                removed_cursor += 1;
            } else {
                ids.push(candidate);
            }
            candidate += 1;
        }
        if ids.len() < limit {
            let added_start = self.added.partition_point(|&id| id < first);
            let room = limit - ids.len();
            ids.extend(self.added.iter().skip(added_start).take(room));
        }
        ids
    }

    /// Every live id, ascending (a snapshot for tests; costs memory proportional to the set).
    pub fn to_vec(&self) -> Vec<u64> {
        self.page(0, self.len() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(ids: &LiveIds) -> Vec<u64> {
        (ids.base_start..ids.base_end())
            .filter(|id| ids.removed.binary_search(id).is_err())
            .chain(ids.added.iter().copied())
            .collect()
    }

    #[test]
    fn paging_matches_a_plain_scan_after_removals_and_additions() {
        let mut ids = LiveIds::new(100, 50);
        for id in [100, 101, 117, 130, 131, 132, 149, 100] {
            ids.remove(id);
        }
        for id in [150, 151, 160] {
            assert!(ids.insert_added(id));
        }
        ids.remove(151);
        let expected = reference(&ids);
        assert_eq!(ids.len(), expected.len() as u64);
        assert_eq!(ids.to_vec(), expected);
        for offset in 0..expected.len() + 2 {
            assert_eq!(ids.nth(offset as u64), expected.get(offset).copied(), "offset {offset}");
            for limit in [1, 3, 7, 100] {
                let page: Vec<u64> = expected.iter().skip(offset).take(limit).copied().collect();
                assert_eq!(ids.page(offset as u64, limit), page, "offset {offset} limit {limit}");
            }
        }
        assert!(ids.contains(102) && !ids.contains(117) && ids.contains(160) && !ids.contains(151));
    }

    #[test]
    fn removing_twice_counts_once() {
        let mut ids = LiveIds::new(0, 10);
        assert!(ids.remove(3));
        assert!(!ids.remove(3));
        assert!(!ids.remove(42));
        assert_eq!(ids.len(), 9);
    }
}
