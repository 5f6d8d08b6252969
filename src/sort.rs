//! Sorting without a sort per type. std's sorts are generic through and through: every
//! element type (and every `BTreeMap`/`BTreeSet` built with `collect`, which sorts
//! first) gets its own 3 to 7 kB copy, about 60 kB of the static binary in all. Here the
//! algorithm is a stable merge sort of indices compiled once, behind `dyn`; what each
//! type gets is the comparison closure and the move into place.
//!
//! The maps and sets are built by inserting, which needs no sort.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// The indices `0..len` in the order `cmp` gives them, equal ones in their first order
/// (a stable, bottom-up merge sort: O(n log n) comparisons, two index buffers).
fn order(len: usize, cmp: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut a: Vec<usize> = (0..len).collect();
    let mut b: Vec<usize> = vec![0; len];
    let mut width = 1;
    while width < len {
        let mut start = 0;
        while start < len {
            let mid = (start + width).min(len);
            let end = (start + 2 * width).min(len);
            let (mut i, mut j) = (start, mid);
            for slot in b.iter_mut().take(end).skip(start) {
                let take_left = match (a.get(i), a.get(j).filter(|_| j < end)) {
                    (Some(&l), Some(&r)) if i < mid => cmp(l, r) != Ordering::Greater,
                    _ => i < mid,
                };
                let from = if take_left { &mut i } else { &mut j };
                *slot = a.get(*from).copied().unwrap_or_default();
                *from += 1;
            }
            start = end;
        }
        std::mem::swap(&mut a, &mut b);
        width *= 2;
    }
    a
}

/// Sort `v` by `cmp`, stably (as `slice::sort_by`).
pub fn sort_by<T>(v: &mut Vec<T>, mut cmp: impl FnMut(&T, &T) -> Ordering) {
    if v.len() < 2 {
        return;
    }
    let items: &Vec<T> = v;
    let idx = order(
        items.len(),
        &mut |i, j| match (items.get(i), items.get(j)) {
            (Some(x), Some(y)) => cmp(x, y),
            _ => Ordering::Equal,
        },
    );
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(
        idx.into_iter()
            .filter_map(|i| slots.get_mut(i).and_then(Option::take)),
    );
}

/// Sort `v` stably by a key (as `slice::sort_by_key`).
pub fn sort_by_key<T, K: Ord>(v: &mut Vec<T>, mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// Sort `v` in its natural order, stably (as `slice::sort`).
pub fn sort<T: Ord>(v: &mut Vec<T>) {
    sort_by(v, T::cmp);
}

/// A map from `(key, value)` pairs, the last value of a key kept (as `collect`).
pub fn map_of<K: Ord, V>(items: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, V> {
    let mut map = BTreeMap::new();
    for (k, v) in items {
        map.insert(k, v);
    }
    map
}

/// A set of `items` (as `collect`).
pub fn set_of<T: Ord>(items: impl IntoIterator<Item = T>) -> BTreeSet<T> {
    let mut set = BTreeSet::new();
    for item in items {
        set.insert(item);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator, so the cases need no crate.
    fn numbers(seed: u64, n: usize, range: u64) -> Vec<u64> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 33) % range.max(1)
            })
            .collect()
    }

    #[test]
    fn sorts_as_std_does_and_stably() {
        let cases: &[(u64, usize, u64)] = &[
            (1, 0, 10),
            (2, 1, 10),
            (3, 2, 10),
            (4, 3, 2),
            (5, 17, 4),
            (6, 64, 1000),
            (7, 100, 1),
            (8, 1000, 50),
            (9, 1025, 100000),
        ];
        for (seed, n, range) in cases {
            let keys = numbers(*seed, *n, *range);
            // (key, original position): stability shows in the positions of equal keys.
            let mut ours: Vec<(u64, usize)> = keys.iter().copied().zip(0..).collect();
            let mut std_sorted = ours.clone();
            sort_by_key(&mut ours, |p| p.0);
            std_sorted.sort_by_key(|p| p.0);
            assert_eq!(ours, std_sorted, "seed {seed}, n {n}");
            let mut desc = keys.clone();
            sort_by(&mut desc, |a, b| b.cmp(a));
            let mut want = keys.clone();
            want.sort_by(|a, b| b.cmp(a));
            assert_eq!(desc, want, "seed {seed}, n {n} descending");
            let mut plain = keys.clone();
            sort(&mut plain);
            want.sort();
            assert_eq!(plain, want);
        }
    }

    #[test]
    fn owned_values_move_into_place() {
        let mut v: Vec<String> = ["b", "c", "a", "b"].iter().map(|s| s.to_string()).collect();
        sort(&mut v);
        assert_eq!(v, ["a", "b", "b", "c"]);
    }

    #[test]
    fn maps_and_sets_keep_what_collect_keeps() {
        let m = map_of([("b", 1), ("a", 2), ("b", 3)]);
        let want: BTreeMap<&str, i32> = [("b", 1), ("a", 2), ("b", 3)].into_iter().collect();
        assert_eq!(m, want);
        let s = set_of(["z", "a", "z"]);
        assert_eq!(s.into_iter().collect::<Vec<_>>(), ["a", "z"]);
    }
}
