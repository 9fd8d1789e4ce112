import Kernels
import Scheduler

/// The executor is how kernels split large operations inside a plan's task (intra-op parallelism):
/// pieces go to the same worker pool that runs the tasks, so inter-op and intra-op parallelism share
/// one set of threads and never oversubscribe. The signatures match by design.
extension Executor: ParallelLoop {}
