//! Pages of a sorted list (API.md "Pages"): which items a `first`/`after` or `last`/`before`
//! request gets, and the exact `hasNextPage`/`hasPreviousPage`, by position in the list's
//! order (a key), never by offset. Storage applies the same rules in SQL for lists too long to
//! load (reservations); `page_of` applies them to a list already in memory (a series'
//! occurrences, rooms).

use std::cmp::Ordering;

/// The most `first` or `last` may ask for.
pub const MAX_PAGE: usize = 500;

/// Which way a page is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `first` items after `after`.
    Forward,
    /// `last` items before `before`.
    Backward,
}

/// One page request over a list ordered by `K` (the sort key with the id as the tie-break).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest<K> {
    pub direction: Direction,
    /// 1..=MAX_PAGE.
    pub limit: usize,
    /// Only items after this position (exclusive).
    pub after: Option<K>,
    /// Only items before this position (exclusive).
    pub before: Option<K>,
}

/// What a page request got, in the list's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Forward: items within the bounds after the last returned; backward: whether any item
    /// comes after the last returned (at or after `before`).
    pub has_next: bool,
    /// Backward: items within the bounds before the first returned; forward: whether any item
    /// comes before the first returned (at or before `after`).
    pub has_previous: bool,
    /// The whole filtered list's length, when asked for.
    pub total: Option<usize>,
}

impl<K: Ord> PageRequest<K> {
    /// Whether `key` lies strictly between the request's bounds.
    pub fn within(&self, key: &K) -> bool {
        self.after.as_ref().is_none_or(|a| key > a) && self.before.as_ref().is_none_or(|b| key < b)
    }
}

/// The page `req` asks of `items`, which are sorted by `key` (ascending, keys unique).
pub fn page_of<T, K: Ord>(items: Vec<T>, key: impl Fn(&T) -> K, req: &PageRequest<K>) -> Page<T> {
    let total = items.len();
    let keys: Vec<K> = items.iter().map(&key).collect();
    let in_range: Vec<usize> = (0..items.len()).filter(|&i| req.within(&keys[i])).collect();
    let (chosen, more): (Vec<usize>, bool) = match req.direction {
        Direction::Forward => (
            in_range.iter().copied().take(req.limit).collect(),
            in_range.len() > req.limit,
        ),
        Direction::Backward => (
            in_range[in_range.len().saturating_sub(req.limit)..].to_vec(),
            in_range.len() > req.limit,
        ),
    };
    let outside = |bound: &Option<K>, side: Ordering| {
        bound
            .as_ref()
            .is_some_and(|b| keys.iter().any(|k| k.cmp(b) != side.reverse()))
    };
    let (has_next, has_previous) = match req.direction {
        // Anything at or before `after` comes before the page.
        Direction::Forward => (more, outside(&req.after, Ordering::Less)),
        // Anything at or after `before` comes after it.
        Direction::Backward => (outside(&req.before, Ordering::Greater), more),
    };
    let mut chosen = chosen.into_iter().peekable();
    let items = items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| {
            if chosen.peek() == Some(&i) {
                chosen.next();
                Some(item)
            } else {
                None
            }
        })
        .collect();
    Page {
        items,
        has_next,
        has_previous,
        total: Some(total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(
        direction: Direction,
        limit: usize,
        after: Option<i32>,
        before: Option<i32>,
    ) -> PageRequest<i32> {
        PageRequest {
            direction,
            limit,
            after,
            before,
        }
    }

    fn page(list: &[i32], r: PageRequest<i32>) -> (Vec<i32>, bool, bool) {
        let p = page_of(list.to_vec(), |k| *k, &r);
        (p.items, p.has_previous, p.has_next)
    }

    #[test]
    fn forward_pages_by_position_with_exact_flags() {
        let list = [10, 20, 30, 40, 50];
        use Direction::*;
        assert_eq!(
            page(&list, req(Forward, 2, None, None)),
            (vec![10, 20], false, true)
        );
        assert_eq!(
            page(&list, req(Forward, 2, Some(20), None)),
            (vec![30, 40], true, true)
        );
        assert_eq!(
            page(&list, req(Forward, 2, Some(40), None)),
            (vec![50], true, false)
        );
        // The `after` item itself was removed: the position still holds, and what is before
        // it (10) still makes a previous page.
        assert_eq!(
            page(&[10, 30, 40], req(Forward, 5, Some(20), None)),
            (vec![30, 40], true, false)
        );
        // Nothing at or before the position any more.
        assert_eq!(
            page(&[30, 40], req(Forward, 5, Some(20), None)),
            (vec![30, 40], false, false)
        );
        assert_eq!(
            page(&list, req(Forward, 5, Some(20), Some(50))),
            (vec![30, 40], true, false)
        );
    }

    #[test]
    fn backward_pages_mirror_forward_ones() {
        let list = [10, 20, 30, 40, 50];
        use Direction::*;
        assert_eq!(
            page(&list, req(Backward, 2, None, None)),
            (vec![40, 50], true, false)
        );
        assert_eq!(
            page(&list, req(Backward, 2, None, Some(40))),
            (vec![20, 30], true, true)
        );
        assert_eq!(
            page(&list, req(Backward, 2, None, Some(20))),
            (vec![10], false, true)
        );
        assert_eq!(
            page(&[10, 20], req(Backward, 2, None, Some(40))),
            (vec![10, 20], false, false)
        );
    }
}
