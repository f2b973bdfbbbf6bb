//! Test-only helper for sealed-session: runs a closure in a forked child
//! process and returns its exit code.
//!
//! sealed-session forbids `unsafe`, so its fork test reaches `fork`, `_exit`
//! and `waitpid` through [`in_forked_child`]. Not published; nothing else
//! should use it.

#![cfg(unix)]

use std::io;
use std::panic::{self, AssertUnwindSafe};

/// Exit code of a child whose closure panicked.
pub const PANICKED: i32 = 101;

/// Which process a [`fork`] returned in.
pub enum Side {
    /// The parent, with the child to [`Child::wait`] for.
    Parent(Child),
    /// The child, which must end with [`exit`].
    Child,
}

/// A forked child process.
pub struct Child(libc::pid_t);

/// Forks; both processes return, each with its [`Side`]. The child must end
/// by [`exit`] (never by returning into the test harness), and the parent
/// must [`Child::wait`] for it.
pub fn fork() -> io::Result<Side> {
    // SAFETY: fork has no memory-safety preconditions of its own; what the
    // child may do afterwards is the contract documented above.
    match unsafe { libc::fork() } {
        pid if pid < 0 => Err(io::Error::last_os_error()),
        0 => Ok(Side::Child),
        pid => Ok(Side::Parent(Child(pid))),
    }
}

/// Ends this process at once with `code`, running no destructors or exit
/// handlers (what a forked child of a test must do).
pub fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the process at once; it takes no pointers.
    unsafe { libc::_exit(code) }
}

impl Child {
    /// Waits for the child to exit and returns its exit code.
    pub fn wait(self) -> io::Result<i32> {
        let pid = self.0;
        let mut status = 0;
        loop {
            // SAFETY: `status` is a valid, writable c_int for the call.
            let waited = unsafe { libc::waitpid(pid, &raw mut status, 0) };
            if waited == pid {
                break;
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
        if libc::WIFEXITED(status) {
            Ok(libc::WEXITSTATUS(status))
        } else {
            Err(io::Error::other(format!(
                "child {pid} did not exit normally (wait status {status:#x})"
            )))
        }
    }
}

/// Forks; the child runs `child` and leaves with `_exit` and the code it
/// returned (or [`PANICKED`]), so it never returns into the caller, runs no
/// destructors or exit handlers, and does not flush stdio buffers it
/// inherited. The parent waits for the child and returns its exit code.
///
/// The child has only the calling thread. It may allocate (glibc and musl
/// keep `malloc` usable in a forked child), but must not wait on a lock
/// another thread of the parent may have held at the fork.
///
/// # Errors
///
/// When `fork` or `waitpid` fails, or the child was ended by a signal.
pub fn in_forked_child(child: impl FnOnce() -> i32) -> io::Result<i32> {
    match fork()? {
        Side::Child => {
            let code = panic::catch_unwind(AssertUnwindSafe(child)).unwrap_or(PANICKED);
            exit(code)
        }
        Side::Parent(pid) => pid.wait(),
    }
}
