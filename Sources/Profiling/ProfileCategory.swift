import Scheduler

/// The kind of work a task does, used to group and colour it in a profile.
///
/// The Scheduler knows nothing of tensors; these four names are what a training step has
/// (forward pass, backward pass, parameter update, anything else). Any other name works too:
///
///     let c = ProfileCategory("io")
public struct ProfileCategory: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ name: String) { self.rawValue = name }

    /// The forward pass, the backward pass, parameter updates, anything else.
    public static let forward = ProfileCategory("forward")
    public static let backward = ProfileCategory("backward")
    public static let update = ProfileCategory("update")
    public static let other = ProfileCategory("other")

    public var description: String { rawValue }

    /// Forward, backward, update, other, then any other name alphabetically: the order tables use.
    public static func < (a: ProfileCategory, b: ProfileCategory) -> Bool {
        (a.rank, a.rawValue) < (b.rank, b.rawValue)
    }

    private var rank: Int {
        switch rawValue {
        case "forward": 0
        case "backward": 1
        case "update": 2
        case "other": 3
        default: 4
        }
    }
}
