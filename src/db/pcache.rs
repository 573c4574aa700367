//! SQLite's page cache, with one cost taken out of every commit (installed once, before the
//! first SQLite connection: `install`).
//!
//! At the end of every write transaction SQLite asks its page cache to drop the pages past the
//! end of the database (`xTruncate`). Its default cache remembers the largest page number it
//! ever held and skips that work when the limit is above it; but a B-tree split that reorders
//! its new pages (`balance_nonroot`) parks one of them for a moment under the number of the
//! lock page (`PENDING_BYTE / page size + 1`, 262,145 for 4 KiB pages), far past the end of
//! a database under 1 GiB. From then on the remembered largest number is that one, so the next
//! commit walks the whole hash table of the cache, which for an in-memory database is every
//! page of it: 27-32% of the server's time in `pcache1TruncateUnsafe` under a booking load
//! (perf, docs/design.md), more as the database grows, and worst for indexes that split in the
//! middle (the quotas' by organizer).
//!
//! This decorator forwards every call to the default cache and keeps its own bound on the
//! page numbers held: every number fetched, and the numbers pages were moved to above that
//! (dropped again when they move away). A truncate below which nothing can be held is
//! skipped; any other goes through. The bound only ever over-estimates, which is always safe:
//! a skipped truncate had nothing to drop.

use std::ffi::{c_int, c_uint};
use std::sync::OnceLock;

use libsqlite3_sys::{
    sqlite3_config, sqlite3_pcache, sqlite3_pcache_methods2, sqlite3_pcache_page,
    SQLITE_CONFIG_GETPCACHE2, SQLITE_CONFIG_PCACHE2, SQLITE_OK,
};

/// The default cache's methods, read once.
struct Default(sqlite3_pcache_methods2);

// The methods are plain function pointers and SQLite's own argument, which SQLite itself calls
// from any thread (the library is built thread-safe).
unsafe impl Send for Default {}
unsafe impl Sync for Default {}

static DEFAULT: OnceLock<Option<Default>> = OnceLock::new();

/// One cache: the default cache's, and the bound on what it holds.
struct Cache {
    inner: *mut sqlite3_pcache,
    /// No page with a number above this has been fetched since the last truncate below it.
    fetched_max: c_uint,
    /// Numbers above `fetched_max` that pages were moved to and still hold (a split's
    /// transient lock-page number, while it lasts).
    moved_high: Vec<c_uint>,
}

impl Cache {
    /// No page held has a number above this.
    fn bound(&self) -> c_uint {
        self.moved_high
            .iter()
            .copied()
            .fold(self.fetched_max, c_uint::max)
    }

    fn fetched(&mut self, key: c_uint) {
        if key > self.fetched_max && !self.moved_high.contains(&key) {
            self.fetched_max = key;
        }
    }

    fn moved(&mut self, old: c_uint, new: c_uint) {
        // Page numbers are unique in a cache: nothing holds `old` any more.
        self.moved_high.retain(|&k| k != old);
        if new > self.fetched_max {
            self.moved_high.push(new);
        }
    }

    /// Whether a truncate to `limit` has anything to drop.
    fn needs_truncate(&self, limit: c_uint) -> bool {
        limit <= self.bound()
    }

    /// Everything at or above `limit` was dropped.
    fn truncated(&mut self, limit: c_uint) {
        self.fetched_max = self.fetched_max.min(limit.saturating_sub(1));
        self.moved_high.retain(|&k| k < limit);
    }
}

/// Installs the decorator, once per process, before SQLite is initialized (any connection
/// opened first makes SQLite refuse, and the default cache stays: slower, never wrong).
/// Whether it is in place.
pub(crate) fn install() -> bool {
    DEFAULT
        .get_or_init(|| {
            let mut default = std::mem::MaybeUninit::<sqlite3_pcache_methods2>::zeroed();
            // SAFETY: GETPCACHE2 writes the current methods into the struct given.
            let rc = unsafe { sqlite3_config(SQLITE_CONFIG_GETPCACHE2, default.as_mut_ptr()) };
            if rc != SQLITE_OK {
                tracing::debug!(rc, "SQLite's page cache cannot be read; keeping it as is");
                return None;
            }
            // SAFETY: initialized by the call above.
            let default = unsafe { default.assume_init() };
            let methods = sqlite3_pcache_methods2 {
                iVersion: default.iVersion,
                pArg: default.pArg,
                xInit: default.xInit,
                xShutdown: default.xShutdown,
                xCreate: Some(create),
                xCachesize: Some(cachesize),
                xPagecount: Some(pagecount),
                xFetch: Some(fetch),
                xUnpin: Some(unpin),
                xRekey: Some(rekey),
                xTruncate: Some(truncate),
                xDestroy: Some(destroy),
                xShrink: Some(shrink),
            };
            // SQLite copies the methods: a stack value will do. SAFETY: a complete struct.
            let rc = unsafe { sqlite3_config(SQLITE_CONFIG_PCACHE2, &methods) };
            if rc != SQLITE_OK {
                tracing::debug!(rc, "SQLite was initialized already; its page cache stays");
                return None;
            }
            Some(Default(default))
        })
        .is_some()
}

fn methods() -> &'static sqlite3_pcache_methods2 {
    match DEFAULT.get() {
        Some(Some(d)) => &d.0,
        // Only installed (and so only called) after DEFAULT was set.
        _ => unreachable!("the page cache decorator is called only once installed"),
    }
}

/// # Safety
/// `p` is a pointer `create` returned and `destroy` has not freed.
unsafe fn cache<'a>(p: *mut sqlite3_pcache) -> &'a mut Cache {
    &mut *(p as *mut Cache)
}

unsafe extern "C" fn create(
    sz_page: c_int,
    sz_extra: c_int,
    purgeable: c_int,
) -> *mut sqlite3_pcache {
    let Some(create) = methods().xCreate else {
        return std::ptr::null_mut();
    };
    let inner = create(sz_page, sz_extra, purgeable);
    if inner.is_null() {
        return inner;
    }
    Box::into_raw(Box::new(Cache {
        inner,
        fetched_max: 0,
        moved_high: Vec::new(),
    })) as *mut sqlite3_pcache
}

unsafe extern "C" fn cachesize(p: *mut sqlite3_pcache, n: c_int) {
    if let Some(f) = methods().xCachesize {
        f(cache(p).inner, n)
    }
}

unsafe extern "C" fn pagecount(p: *mut sqlite3_pcache) -> c_int {
    methods().xPagecount.map_or(0, |f| f(cache(p).inner))
}

unsafe extern "C" fn fetch(
    p: *mut sqlite3_pcache,
    key: c_uint,
    create: c_int,
) -> *mut sqlite3_pcache_page {
    let c = cache(p);
    let Some(f) = methods().xFetch else {
        return std::ptr::null_mut();
    };
    let page = f(c.inner, key, create);
    if !page.is_null() {
        c.fetched(key);
    }
    page
}

unsafe extern "C" fn unpin(p: *mut sqlite3_pcache, page: *mut sqlite3_pcache_page, discard: c_int) {
    if let Some(f) = methods().xUnpin {
        f(cache(p).inner, page, discard)
    }
}

unsafe extern "C" fn rekey(
    p: *mut sqlite3_pcache,
    page: *mut sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    let c = cache(p);
    if let Some(f) = methods().xRekey {
        f(c.inner, page, old, new)
    }
    c.moved(old, new);
}

unsafe extern "C" fn truncate(p: *mut sqlite3_pcache, limit: c_uint) {
    let c = cache(p);
    if !c.needs_truncate(limit) {
        // Nothing at or above `limit` is held: the default cache would drop nothing.
        return;
    }
    if let Some(f) = methods().xTruncate {
        f(c.inner, limit)
    }
    c.truncated(limit);
}

unsafe extern "C" fn destroy(p: *mut sqlite3_pcache) {
    let c = Box::from_raw(p as *mut Cache);
    if let Some(f) = methods().xDestroy {
        f(c.inner)
    }
}

unsafe extern "C" fn shrink(p: *mut sqlite3_pcache) {
    if let Some(f) = methods().xShrink {
        f(cache(p).inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_at(max: c_uint) -> Cache {
        Cache {
            inner: std::ptr::null_mut(),
            fetched_max: max,
            moved_high: Vec::new(),
        }
    }

    #[test]
    fn a_split_parking_a_page_past_the_end_leaves_no_truncate_behind() {
        let mut c = cache_at(100);
        // balance_nonroot's swap through the lock page's number.
        c.moved(50, 262_145);
        c.moved(60, 50);
        assert!(c.needs_truncate(101), "the parked page is still there");
        c.moved(262_145, 60);
        assert!(!c.needs_truncate(101));
        assert_eq!(c.bound(), 100);
    }

    #[test]
    fn what_may_be_past_the_limit_is_always_truncated() {
        let mut c = cache_at(100);
        c.fetched(120);
        assert!(c.needs_truncate(101));
        c.truncated(101);
        assert!(!c.needs_truncate(101));
        // A page moved past the end that stays there keeps the bound up.
        c.moved(70, 150);
        assert!(c.needs_truncate(101) && !c.needs_truncate(151));
        c.truncated(101);
        assert_eq!(c.bound(), 100);
        assert!(c.needs_truncate(100), "page 100 itself may be dropped");
    }
}
