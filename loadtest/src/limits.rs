//! File descriptors for runs at scale: every connection costs one in the client and one in
//! the server, and the default soft limit (1024) runs out long before the hub does.

use rlimit::Resource;

/// Raises this process's open-file limit as far as allowed: first the hard limit itself
/// (root may, up to `fs.nr_open`), else the soft limit to the hard one. Children inherit it.
/// Returns the new soft limit.
pub fn raise_open_files(wanted: u64) -> u64 {
    let (_, hard) = Resource::NOFILE.get().unwrap_or((1024, 1024));
    if wanted > hard && Resource::NOFILE.set(wanted, wanted).is_ok() {
        return wanted;
    }
    let _ = Resource::NOFILE.set(hard, hard);
    Resource::NOFILE.get().map_or(1024, |(soft, _)| soft)
}
