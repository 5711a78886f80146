//! Running code inside another network namespace. A namespace belongs to a thread, so the work
//! runs on a short-lived thread that enters the namespace first; sockets it opens stay in that
//! namespace for their whole life, whichever thread uses them later.

use std::fs::File;
use std::io;
use std::path::Path;

use nix::sched::{CloneFlags, setns};

/// Runs `work` in the network namespace at `path` (e.g. `/run/netns/NAME`) and returns its
/// result. The calling thread's namespace is not changed.
pub fn run_in<T: Send>(path: &Path, work: impl FnOnce() -> T + Send) -> io::Result<T> {
    let ns = File::open(path)?;
    std::thread::scope(|scope| {
        scope
            .spawn(move || -> io::Result<T> {
                setns(&ns, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
                Ok(work())
            })
            .join()
            .map_err(|_| io::Error::other("the thread in the network namespace panicked"))?
    })
}
