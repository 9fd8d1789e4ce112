import Scheduler

/// Bounds on what a profile's writers produce, so a long run still gives files that open quickly.
/// Beyond a bound, writers sample whole runs or aggregate, and say so in the output.
///
///     var limits = ProfileOutputLimits()
///     limits.traceEvents = 10_000
///     try profile.write(to: dir, limits: limits)
public struct ProfileOutputLimits: Sendable {
    /// Most `X` events in trace.json; beyond it, whole runs are sampled evenly (or, for one huge
    /// run, the events that began first are kept).
    public var traceEvents = 100_000
    /// Most operation rows listed; the rest are summed into one row.
    public var tableRows = 60
    /// Most steps of a path listed; the rest are summed by operation.
    public var pathSteps = 200
    /// Most nodes in graph.dot; beyond it, the critical path and the most expensive tasks are kept.
    public var graphNodes = 1_500
    /// Width in pixels of the report's timelines; tasks narrower than a few pixels are merged.
    public var timelineWidth = 1_200
    /// Most SVG shapes per timeline in the report; beyond it, merging gets coarser.
    public var timelineShapes = 6_000
    /// Most bytes of SVG per timeline (long operation names make each bar's tooltip longer).
    public var timelineBytes = 1_500_000
    /// Most runs listed one by one in summary.json.
    public var runRows = 1_000

    public init() {}
}
