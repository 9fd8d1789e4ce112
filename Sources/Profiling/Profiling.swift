import Scheduler

/// Profiling: where the time of scheduler runs went, from the events a `TraceRecorder` (module
/// Scheduler) records as an observer of the runs.
///
/// ```swift
/// import Foundation
/// import Profiling
/// import Scheduler
///
/// let recorder = TraceRecorder()
/// for _ in 0..<10 { try executor.run(compiled, observer: recorder) }
/// let profile = try Profile(graph: compiled, events: recorder.events)
/// print(profile.summaryText())
/// try profile.write(to: URL(fileURLWithPath: "profile"))   // trace.json, summary.*, graph.dot, report.html
/// // or in one line: try executor.profile(compiled, runs: 10)
/// ```
///
/// How it fits together (one concept per file):
/// - `Profile`: plain data (tasks, edges, events) and every statistic, computed once in `init`;
///   `Profile+Scheduler` builds one from a compiled graph and its events, `ProfileSession` from
///   runs of several graphs, `Executor.profile` records and builds in one call.
/// - Statistics: `Profile+Statistics` (operation, category, worker tables), `Profile+CriticalPath`,
///   `Profile+Parallelism`.
/// - Writers, bounded by `ProfileOutputLimits`: `Profile+ChromeTrace`, `Profile+Summary`,
///   `Profile+Graphviz`, `Profile+Report` (HTML), `Profile+Files` (all of them into a directory,
///   atomically, with Foundation).
///
/// The Scheduler knows nothing of this module: it only calls its observers (`TaskObserver`), so a
/// program that embeds the executor without profiling does not link it.
public enum ProfilingModule {}
