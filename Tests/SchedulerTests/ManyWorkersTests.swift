import Foundation
import Scheduler
import Synchronization
import Testing
import TestSupport

extension SchedulerTests {
    /// More workers than libdispatch's thread pool holds (255) must still start and run: the pool
    /// starts its own threads.
    @Suite struct ManyWorkersTests {
        @Test func threeHundredWorkersRunAGraphAndShutDown() {
            withTimeLimit(60, "300 workers") {
                let executor = Executor(workers: 300, pinning: false)
                #expect(executor.workerCount == 300)
                let graph = TaskGraph()
                let count = Atomic<Int>(0)
                let root = graph.addTask("root") { count.add(1, ordering: .relaxed) }
                for i in 0..<1000 {
                    let t = graph.addTask("t\(i)") { count.add(1, ordering: .relaxed) }
                    root.precede(t)
                }
                try executor.run(graph.compile())
                #expect(count.load(ordering: .relaxed) == 1001)
                executor.shutdown()
            }
        }
    }
}
