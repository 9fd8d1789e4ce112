import CKernels
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

extension GEMM {
    /// Blocks of op(A) that the workers of a `columnChunksProduct` pack once for all of them (Note
    /// [Packed blocks of op(A) shared by the chunks]): the first worker to need a block packs it,
    /// the others wait until it is published. The release of `publish` and the acquire of `claim`
    /// order the packed values before every read of them by another worker.
    struct SharedPackedBlocks: @unchecked Sendable {
        // @unchecked Sendable: the states are only touched through atomic operations.
        private let states: UnsafeMutablePointer<Atomic<Int>>
        static var unpacked: Int { 0 }
        static var packing: Int { 1 }
        static var ready: Int { 2 }

        /// `count` blocks, none packed, whose states live in `memory` (room for `count` Ints,
        /// scratch space that outlives every use: a product's steady state allocates nothing).
        init(count: Int, memory: UnsafeMutablePointer<Int>) {
            states = UnsafeMutableRawPointer(memory).bindMemory(to: Atomic<Int>.self, capacity: count)
            for i in 0..<count { (states + i).initialize(to: Atomic(Self.unpacked)) }
        }

        /// Whether the caller is to pack block `index` (and then `publish` it); false once the block
        /// is ready, after waiting for the worker that packs it: a busy wait with the CPU's pause
        /// hint (a block's packing takes tens of microseconds), yielding the core after 4096 rounds
        /// in case the packing worker has lost its own.
        func claim(_ index: Int) -> Bool {
            if states[index].load(ordering: .acquiring) == Self.ready { return false }
            if states[index].compareExchange(expected: Self.unpacked, desired: Self.packing,
                                             ordering: .acquiring).exchanged { return true }
            var spins = 0
            while states[index].load(ordering: .acquiring) != Self.ready {
                spins += 1
                if spins < 4096 { ck_spin_pause() } else { sched_yield() }
            }
            return false
        }

        /// Makes block `index`, packed by the caller, visible to the other workers.
        func publish(_ index: Int) {
            states[index].store(Self.ready, ordering: .releasing)
        }
    }
}
