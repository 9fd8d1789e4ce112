/// Scheduler: generic task graphs and their parallel execution on a pinned worker pool.
/// It knows nothing of tensors; anything expressible as closures with dependencies runs on it.
///
/// ```swift
/// import Scheduler
///
/// let graph = TaskGraph()
/// let load = graph.addTask("load") { /* read input */ }
/// let left = graph.addTask("left", cost: 2) { /* ... */ }
/// let right = graph.addTask("right", priority: 1) { /* runs first of the two */ }
/// let join = graph.addTask("join") { /* after both */ }
/// load.precede(left, right)
/// join.succeed(left, right)
///
/// let compiled = try graph.compile()      // validates (cycles throw), freezes into flat arrays
/// let executor = Executor()               // one pinned worker per usable core
/// try executor.run(compiled)              // as often as you like, from any thread
/// ```
///
/// How it fits together (one concept per file):
/// - `TaskGraph`, `TaskHandle` (a value; `TaskGraphRegistry` makes a stale one trap): building. `CompiledGraph`: successor lists in compressed rows,
///   join counters only for tasks with two or more predecessors, roots and rows in priority order.
/// - `Executor`: the public face; `Pool`/`Worker`: threads, deques, stealing, parking;
///   `RunState`: one run's counters, error, cancel flag and waiter; `RunHandle`: waiting/cancel.
/// - `WorkStealingDeque` (Chase-Lev), `InjectionQueue` (outside submissions), `EventCount`
///   (parking), `RunTable` + `WorkItem` (one-word work items), `ParallelForJob`,
///   `Topology` (hwloc), `Lock`.
/// - `TaskObserver`/`ObservedTask`: what workers tell observers when tasks start and end
///   (`Executor.addObserver`, or `run(_:observer:)`); `ObserverList` is a run's observers.
///   `TraceRecorder`/`TaskEvent`: the observer that records timestamps, read by the `Profiling`
///   library (tables, critical path, Chrome trace, DOT, HTML), which is not part of this module.
///
/// The reasoning behind the concurrency lives next to the code, in named notes:
/// - Note [Chase-Lev memory orders] (`WorkStealingDeque`)
/// - Note [Parking without lost wake-ups] (`EventCount`)
/// - Note [Shutting down without stranding a run] (`Executor.shutdown`), Note [A full run table]
///   (`RunTable`), Note [Handles that cannot dangle] (`TaskGraphRegistry`)
/// - Note [Counting live units] and Note [Unit credit] (`RunState`)
/// - Note [parallelFor lifetime] (`ParallelForJob`), Note [Spreading pieces] (`Executor+ParallelFor`)
///
/// Costs on the hot path (per task): one load of the run's status, one branch on whether the run
/// has observers, the closure call, and for each
/// successor with several predecessors one `lock xadd` on its join counter. A chain runs entirely
/// inline; no task is allocated, queued or counted on a shared line unless it has to be pushed.
public enum SchedulerModule {}
