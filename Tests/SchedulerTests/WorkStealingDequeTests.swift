import Foundation
import Scheduler
import Synchronization
import Testing
import TestSupport

extension SchedulerTests {
    @Suite struct WorkStealingDequeTests {
        @Test func ownerAloneIsLIFOAndGrows() {
            let deque = WorkStealingDeque(capacity: 16)
            for i in 0..<1000 { deque.push(i) }
            #expect(deque.count == 1000)
            for i in (0..<1000).reversed() { #expect(deque.pop() == i) }
            #expect(deque.pop() == nil)
            #expect(deque.steal() == nil)
            deque.push(5)
            #expect(deque.steal() == 5)
            #expect(deque.pop() == nil)
        }

        /// One owner pushing (and sometimes popping) against several thieves, starting small so the
        /// buffer grows while thieves are stealing: every item must be taken exactly once.
        @Test(arguments: [1, 2, 3, 4, 8])
        func ownerAgainstThieves(thieves: Int) {
            withTimeLimit(60, "deque with \(thieves) thieves") {
                let items = scaled(200_000, minimum: 20_000)
                let deque = WorkStealingDeque(capacity: 16)
                let taken = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: items)
                for i in 0..<items { (taken + i).initialize(to: Atomic(0)) }
                defer { taken.deinitialize(count: items); taken.deallocate() }
                let box = TakenBox(taken)
                let ownerDone = Atomic<Bool>(false)
                let total = Atomic<Int>(0)
                let group = DispatchGroupBox()
                for _ in 0..<thieves {
                    group.spawn {
                        while true {
                            if let x = deque.steal() {
                                box.mark(x)
                                total.wrappingAdd(1, ordering: .relaxed)
                            } else if ownerDone.load(ordering: .acquiring) && deque.count == 0 {
                                return
                            }
                        }
                    }
                }
                var rng = TestRandom(seed: UInt64(thieves))
                var next = 0
                while next < items {
                    // Bursts of pushes (growth) with occasional pops by the owner.
                    let burst = Int.random(in: 1...64, using: &rng)
                    for _ in 0..<burst where next < items { deque.push(next); next += 1 }
                    if Int.random(in: 0..<4, using: &rng) == 0, let x = deque.pop() {
                        box.mark(x)
                        total.wrappingAdd(1, ordering: .relaxed)
                    }
                }
                while let x = deque.pop() {
                    box.mark(x)
                    total.wrappingAdd(1, ordering: .relaxed)
                }
                ownerDone.store(true, ordering: .releasing)
                group.wait()
                try check(total.load(ordering: .relaxed) == items, "took \(total.load(ordering: .relaxed)) of \(items)")
                for i in 0..<items {
                    let n = taken[i].load(ordering: .relaxed)
                    try check(n == 1, "item \(i) taken \(n) times")
                }
            }
        }
    }
}

/// Shares the per-item counters with thief threads.
final class TakenBox: @unchecked Sendable {
    // @unchecked Sendable: only atomics behind the pointer; the test owns the memory.
    let taken: UnsafeMutablePointer<Atomic<Int>>
    init(_ t: UnsafeMutablePointer<Atomic<Int>>) { taken = t }
    func mark(_ i: Int) { taken[i].wrappingAdd(1, ordering: .relaxed) }
}
