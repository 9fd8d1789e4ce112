import Synchronization

/// A Chase-Lev work-stealing deque of machine words: one owner pushes and pops at the bottom,
/// any number of thieves steal at the top. It grows without bound; nothing is ever lost.
///
/// The executor stores encoded work items in it (see `WorkItem`); it is public so it can be
/// tested and reused on its own.
///
/// ```swift
/// let deque = WorkStealingDeque()
/// deque.push(7)            // owner thread only
/// let mine = deque.pop()   // owner thread only: 7
/// let theirs = deque.steal()   // any thread: nil, empty now
/// ```
///
/// - Note: `push` and `pop` must only be called by one thread at a time (the owner); `steal`
///   may be called from any thread concurrently with everything.
///
/// Note [Chase-Lev memory orders]
/// Follows Lê, Pop, Cohen and Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak
/// Memory Models" (PPoPP 2013), with the standalone fences folded into the accesses around them
/// (same instructions on x86-64, and ThreadSanitizer understands orders on accesses but not fences):
/// - `push` writes the slot (relaxed), then publishes it with a *release* store of `bottom`; a
///   thief's *acquire* load of `bottom` therefore sees the slot and everything the pusher wrote
///   before pushing (such as the state an item points to).
/// - `pop` must order its store of `bottom` before its load of `top` (store-load), and a thief
///   must order its load of `top` before its load of `bottom`: all four accesses are seq_cst, so
///   the owner and a thief cannot both miss each other when one item is left; the last item is
///   then arbitrated by a seq_cst compare-exchange on `top`.
/// - Slots are atomics (relaxed): a thief may read a slot that the owner is overwriting after
///   the deque wrapped around; its CAS on `top` then fails and the value read is discarded.
/// - Growth copies the live range into a new buffer and publishes it with a release store;
///   thieves load the buffer with acquire. A buffer's first word holds its index mask, so a thief
///   always pairs a buffer with its own size. Old buffers stay allocated until the deque dies,
///   because a slow thief may still be reading one (its CAS on `top` then decides).
public final class WorkStealingDeque: @unchecked Sendable {
    // @unchecked Sendable: all shared state is in atomics, ordered as explained in the note above;
    // `retired` is touched by the owner only (in push) and in deinit.
    private let top = Atomic<Int>(0)
    private let bottom = Atomic<Int>(0)
    private let buffer: Atomic<UnsafeMutablePointer<Atomic<Int>>>   // [mask, slot 0, slot 1, ...]
    private var retired: [(UnsafeMutablePointer<Atomic<Int>>, Int)] = []
    private var ownerBuffer: UnsafeMutablePointer<Atomic<Int>>   // owner's cached copy of `buffer`
    private var ownerMask: Int

    /// Creates an empty deque with room for `capacity` items before it first grows (rounded up
    /// to a power of two).
    public init(capacity: Int = 256) {
        var cap = 16
        while cap < capacity { cap <<= 1 }
        let buf = WorkStealingDeque.allocate(cap)
        buffer = Atomic(buf)
        ownerBuffer = buf
        ownerMask = cap - 1
    }

    deinit {
        WorkStealingDeque.free(ownerBuffer, ownerMask + 1)
        for (buf, cap) in retired { WorkStealingDeque.free(buf, cap) }
    }

    /// A buffer of `capacity` slots after one header word holding `capacity - 1`; the returned
    /// pointer points at slot 0.
    private static func allocate(_ capacity: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        let raw = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: capacity + 1)
        raw.initialize(to: Atomic(capacity - 1))
        for i in 1...capacity { (raw + i).initialize(to: Atomic(0)) }
        return raw + 1
    }

    private static func free(_ buf: UnsafeMutablePointer<Atomic<Int>>, _ capacity: Int) {
        let raw = buf - 1
        raw.deinitialize(count: capacity + 1)
        raw.deallocate()
    }

    /// Number of items, approximately (exact when no other thread is using the deque).
    public var count: Int {
        max(0, bottom.load(ordering: .relaxed) - top.load(ordering: .relaxed))
    }

    /// Whether the deque is empty, as its owner sees it (exact for the owner up to concurrent
    /// steals, which only make it emptier). Owner only; cheap.
    @inline(__always)
    var ownerSeesEmpty: Bool {
        bottom.load(ordering: .relaxed) <= top.load(ordering: .relaxed)
    }

    /// Whether the deque looked empty; seq_cst so the parking protocol can rely on it
    /// (see Note [Parking without lost wake-ups] in `EventCount`).
    public var isEmpty: Bool {
        bottom.load(ordering: .sequentiallyConsistent) <= top.load(ordering: .sequentiallyConsistent)
    }

    /// Adds an item at the bottom. Owner only.
    @inline(__always)
    public func push(_ item: Int) {
        let b = bottom.load(ordering: .relaxed)
        let t = top.load(ordering: .acquiring)
        if b - t > ownerMask { grow(bottom: b, top: t) }
        ownerBuffer[b & ownerMask].store(item, ordering: .relaxed)
        bottom.store(b + 1, ordering: .releasing)   // publishes the slot (see the note)
    }

    /// Removes the most recently pushed item, or returns nil if empty. Owner only.
    @inline(__always)
    public func pop() -> Int? {
        let b = bottom.load(ordering: .relaxed) - 1
        // Cheap early exit: only the owner moves `bottom`, and `top` only grows, so if it was
        // already past `b` the deque is empty for sure.
        if top.load(ordering: .relaxed) > b { return nil }
        bottom.store(b, ordering: .sequentiallyConsistent)
        let t = top.load(ordering: .sequentiallyConsistent)
        if t < b {
            return ownerBuffer[b & ownerMask].load(ordering: .relaxed)   // more than one left: ours
        }
        var item: Int? = nil
        if t == b {
            // The last item: race the thieves for it.
            let value = ownerBuffer[b & ownerMask].load(ordering: .relaxed)
            if top.compareExchange(expected: t, desired: t + 1, successOrdering: .sequentiallyConsistent,
                                   failureOrdering: .relaxed).exchanged {
                item = value
            }
        }
        bottom.store(b + 1, ordering: .relaxed)   // t >= b: empty now; restore the canonical form
        return item
    }

    /// Removes the oldest item, or returns nil if empty or if another thread won the race for it.
    /// Any thread.
    @inline(__always)
    public func steal() -> Int? {
        let t = top.load(ordering: .sequentiallyConsistent)
        let b = bottom.load(ordering: .sequentiallyConsistent)
        guard t < b else { return nil }
        let buf = buffer.load(ordering: .acquiring)
        let mask = buf[-1].load(ordering: .relaxed)   // immutable header of this buffer
        let value = buf[t & mask].load(ordering: .relaxed)
        guard top.compareExchange(expected: t, desired: t + 1, successOrdering: .sequentiallyConsistent,
                                  failureOrdering: .relaxed).exchanged else { return nil }
        return value
    }

    private func grow(bottom b: Int, top t: Int) {
        let oldCap = ownerMask + 1
        let newCap = oldCap * 2
        let newBuf = WorkStealingDeque.allocate(newCap)
        for i in t..<b {
            newBuf[i & (newCap - 1)].store(ownerBuffer[i & ownerMask].load(ordering: .relaxed), ordering: .relaxed)
        }
        retired.append((ownerBuffer, oldCap))
        ownerBuffer = newBuf
        ownerMask = newCap - 1
        buffer.store(newBuf, ordering: .releasing)   // the copied slots before the pointer
    }
}
