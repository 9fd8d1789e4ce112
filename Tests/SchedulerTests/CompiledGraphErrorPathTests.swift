import Scheduler
import Testing

extension SchedulerTests {
    /// Every way `TaskGraph.compile()` can fail, each many times: the errors are checked here, and
    /// the leaks (a failed compile must free every buffer it allocated) by running this suite under
    /// LeakSanitizer (`swift test --sanitize=address`, see .ci/run), which fails at exit on any leak.
    @Suite struct CompiledGraphErrorPathTests {
        /// A chain a -> b -> c -> ... whose last task precedes the second: a cycle through every
        /// task but the first, found after all the compressed rows are allocated.
        static func cycleGraph(tasks: Int, priorities: Bool) -> TaskGraph {
            let graph = TaskGraph()
            let handles = (0..<tasks).map { i in graph.addTask("t\(i)", priority: priorities ? i % 3 : 0) {} }
            for i in 1..<tasks { handles[i - 1].precede(handles[i]) }
            handles[tasks - 1].precede(handles[1])
            return graph
        }

        @Test(arguments: [false, true])
        func failedCompilesOfCyclesNameATaskOnTheCycle(priorities: Bool) {
            for tasks in [2, 3, 17, 300] {
                let graph = Self.cycleGraph(tasks: tasks, priorities: priorities)
                for _ in 0..<20 {
                    do {
                        _ = try graph.compile()
                        Issue.record("a cycle of \(tasks - 1) tasks was not detected")
                    } catch let SchedulerError.cycle(task, index) {
                        #expect((1..<tasks).contains(index), "task #\(index) is not on the cycle")
                        #expect(task == "t\(index)")
                    } catch {
                        Issue.record("unexpected error \(error)")
                    }
                }
            }
        }

        @Test func failedCompilesOfForeignAndOutOfRangeEdges() {
            let graph = TaskGraph(), other = TaskGraph()
            let a = graph.addTask("a") {}
            let stranger = other.addTask("stranger") {}
            a.precede(stranger)
            let outOfRange = TaskGraph()
            outOfRange.addTask("only") {}
            outOfRange.addEdge(from: 0, to: 1)
            for _ in 0..<20 {
                #expect(throws: SchedulerError.foreignTask(operation: "precede", task: "stranger")) { try graph.compile() }
                #expect(throws: SchedulerError.invalidArgument("addEdge: task index 0 -> 1 out of range 0..<1")) {
                    try outOfRange.compile()
                }
            }
        }

        /// After failures, a good graph (backward edges, so the cycle check runs and passes) compiles
        /// and keeps its successor rows: the buffers a failed compile freed are not the ones in use.
        @Test func aGoodGraphCompilesBetweenFailures() throws {
            for _ in 0..<20 {
                #expect(throws: SchedulerError.self) { try Self.cycleGraph(tasks: 5, priorities: false).compile() }
                let graph = TaskGraph()
                let a = graph.addTask("a") {}, b = graph.addTask("b") {}, c = graph.addTask("c") {}
                c.precede(b); b.precede(a); c.precede(a)
                let compiled = try graph.compile()
                #expect(compiled.successors(of: 2) == [1, 0])
                #expect(compiled.successors(of: 1) == [0])
                #expect(compiled.predecessorCount(of: 0) == 2)
                #expect(compiled.rootCount == 1)
            }
        }
    }
}
