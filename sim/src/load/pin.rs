//! Pinning a thread to one CPU, so the generator and the target side of a run on one machine
//! each get a core of their own (what `taskset -c` does for a process).

use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

/// Pins the calling thread to `cpu`.
pub fn pin_this_thread(cpu: usize) -> Result<(), String> {
    let mut set = CpuSet::new();
    set.set(cpu)
        .map_err(|e| format!("cannot pin to CPU {cpu}: {e}"))?;
    // Pid 0 is the calling thread.
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| format!("cannot pin to CPU {cpu}: {e}"))
}
