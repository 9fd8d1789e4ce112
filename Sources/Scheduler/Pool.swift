import CHwloc
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The worker threads of an `Executor` and everything they share.
final class Pool: @unchecked Sendable {
    // @unchecked Sendable: all shared mutable state is in atomics or thread-safe types;
    // `workers` is written once in init before any thread starts.
    private(set) var workers: [Worker] = []
    /// The workers' deques, unretained, for thieves: loading a reference from `workers` would
    /// retain it, a reference count shared by every thief.
    private var deques: [Unmanaged<WorkStealingDeque>] = []
    let injection = InjectionQueue()
    let idle = EventCount()
    let stopping = Atomic<Bool>(false)
    /// Worker threads inside their loop (bound, running or parked); 0 once shut down.
    let running = Atomic<Int>(0)
    let boundCPUs: UnsafeMutablePointer<Atomic<Int>>   // per worker: the CPU it is bound to, or -1
    private let exited = DispatchGroup()
    private let started = DispatchGroup()
    let count: Int
    /// Where this pool's runs in progress are registered (Note [A full run table]).
    let table: RunTable

    /// Idle rounds (each a look at every queue) before a worker sleeps.
    static let spinRounds = 64

    init(workers n: Int, cpus: [Int]?, table: RunTable = .shared) {
        count = n
        self.table = table
        boundCPUs = .allocate(capacity: n)
        for i in 0..<n { (boundCPUs + i).initialize(to: Atomic(-1)) }
        workers = (0..<n).map { Worker(index: $0, pool: self) }
        deques = workers.map { Unmanaged.passUnretained($0.deque) }
        for w in workers {
            exited.enter()
            started.enter()
            let cpu = cpus.map { $0[w.index % $0.count] }
            // A thread of its own (not libdispatch's pool, which stops at 255 threads: more
            // workers than that would wait forever for a thread that never comes).
            Pool.startThread { [self] in self.main(w, cpu: cpu) }
        }
        started.wait()
    }

    deinit {
        boundCPUs.deinitialize(count: count)
        boundCPUs.deallocate()
    }

    // MARK: Thread identity

    /// The worker running on the calling thread, if it belongs to this pool.
    @inline(__always)
    func currentWorker() -> Worker? {
        guard let w = Pool.currentThreadWorker(), w.pool === self else { return nil }
        return w
    }

    @inline(__always)
    static func currentThreadWorker() -> Worker? {
        guard let p = pthread_getspecific(workerKey) else { return nil }
        return Unmanaged<Worker>.fromOpaque(p).takeUnretainedValue()
    }

    /// How long a thread outside the pool that waits for a run or a `parallelFor` keeps checking
    /// (yielding its CPU between checks) before it sleeps: waking a sleeping thread costs tens of
    /// microseconds on a virtual machine, which a short run would pay on every call.
    static let outsideWaitNanoseconds: UInt64 = 200_000

    /// Waits (outside the pool) until `done()` holds or `outsideWaitNanoseconds` have passed:
    /// a brief busy spin, then checks with `sched_yield` between them, so that a worker that
    /// needs this CPU gets it. Returns whether `done()` held.
    static func waitBriefly(_ done: () -> Bool) -> Bool {
        for _ in 0..<1000 {
            if done() { return true }
            cpuRelax()
        }
        let start = monotonicNanoseconds()
        while monotonicNanoseconds() &- start < outsideWaitNanoseconds {
            if done() { return true }
            sched_yield()
        }
        return done()
    }

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// A short pause in spin loops. (Swift cannot reach the `pause` instruction portably: the
    /// intrinsic does not link in debug builds; an opaque call keeps the loop from being folded.)
    @inline(never)
    static func cpuRelax() {}

    // MARK: Lifecycle

    private func main(_ w: Worker, cpu: Int?) {
        pthread_setspecific(workerKey, Unmanaged.passUnretained(w).toOpaque())
        w.originalCPUs = Affinity.currentCPUs()
        var saved: hwloc_cpuset_t? = nil
        if let cpu {
            if let hw = Hwloc.shared {
                saved = hw.threadBinding()
                if hw.bindThread(toCPU: cpu) {
                    boundCPUs[w.index].store(cpu, ordering: .relaxed)
                } else {
                    Pool.warnUnpinned("binding a worker to CPU \(cpu) was refused")
                }
            } else {
                Pool.warnUnpinned("hwloc could not load the topology")
            }
        }
        running.wrappingAdd(1, ordering: .relaxed)
        started.leave()   // orders the boundCPUs store and the count before init returns
        loop(w)
        running.wrappingSubtract(1, ordering: .releasing)
        // Leave the thread's binding as we found it.
        if let saved, let hw = Hwloc.shared { hw.restoreThreadBinding(saved) }
        pthread_setspecific(workerKey, nil)
        exited.leave()
    }

    /// Starts a detached POSIX thread running `body` (default stack size). Traps if the system
    /// refuses a thread: a pool without its workers could never run anything.
    private static func startThread(_ body: @escaping @Sendable () -> Void) {
        final class Start: @unchecked Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(Start(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, &attributes, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            start.body()
            return nil
        }, context)
        if status != 0 {
            Unmanaged<Start>.fromOpaque(context).release()
            fatalError("Executor: the system refused a worker thread (pthread_create error \(status)); ask for fewer workers")
        }
    }

    private static let warned = Atomic<Bool>(false)

    static func warnUnpinned(_ why: String) {
        if !warned.exchange(true, ordering: .relaxed) {
            let text = "scheduler: warning: \(why); workers run unpinned\n"
            var bytes = Array(text.utf8)
            _ = write(2, &bytes, bytes.count)   // fd 2: stderr, without touching the FILE global
        }
    }

    /// Stops the workers after they drain what is queued; waits for them unless called from one.
    func shutdown() {
        if stopping.exchange(true, ordering: .sequentiallyConsistent) { return }
        idle.notify(all: true)
        if currentWorker() == nil { exited.wait() }
    }

    private func loop(_ w: Worker) {
        while true {
            if let item = findWork(w) { execute(item, on: w); continue }
            w.settleCredit()   // out of work: a run may be waiting for our credit
            var item: Int? = nil
            for round in 0..<Pool.spinRounds {
                item = findWork(w)
                if item != nil { break }
                if round & 7 == 7 { sched_yield() } else { for _ in 0..<32 { Pool.cpuRelax() } }
            }
            if let item { execute(item, on: w); continue }
            // Two-phase park: Note [Parking without lost wake-ups].
            let key = idle.prepareWait()
            if hasVisibleWork() { idle.cancelWait(); continue }
            if stopping.load(ordering: .sequentiallyConsistent) {
                idle.cancelWait()
                // Note [Shutting down without stranding a run]: work pushed before the executor
                // closed its gate is visible now; drain it before leaving.
                if hasVisibleWork() { continue }
                return
            }
            idle.commitWait(key)
        }
    }

    /// seq_cst look at every queue, for the parking re-check.
    private func hasVisibleWork() -> Bool {
        if !injection.isEmpty { return true }
        for d in deques where !d._withUnsafeGuaranteedRef({ $0.isEmpty }) { return true }
        return false
    }

    /// Local deque first (newest work, hot in cache), then the shared queue, then a random victim.
    @inline(__always)
    func findWork(_ w: Worker) -> Int? {
        if let item = w.deque.pop() { return item }
        if let item = injection.pop() { return item }
        return steal(w)
    }

    private func steal(_ w: Worker) -> Int? {
        let n = workers.count
        guard n > 1 else { return nil }
        let start = w.nextRandom() % n
        for k in 0..<n {
            let v = (start + k) % n
            if v == w.index { continue }
            if let item = deques[v]._withUnsafeGuaranteedRef({ $0.steal() }) {
                // Note [Waking thieves]: more left behind, so wake one more helper.
                if !deques[v]._withUnsafeGuaranteedRef({ $0.ownerSeesEmpty }) { wakeOne() }
                return item
            }
        }
        return nil
    }

    /// Wakes a sleeping worker if any, after work was made visible.
    ///
    /// Note [Waking thieves]
    /// A notify costs a seq_cst fence, so a worker does not notify for every push: only when its
    /// deque goes from empty to non-empty, and a thief that stole an item and saw more behind it
    /// wakes one more. Sleepers therefore wake in a cascade while there is stealable work. Nothing
    /// is lost: a worker parks only after its re-check found every queue empty, so while a deque
    /// is non-empty the thieves woken for it stay awake, and the owner runs its own items anyway.
    @inline(__always)
    func wakeOne() {
        if count > 1 { idle.notify() }
    }

    /// Runs other work on worker `w` until `done()` holds: how a worker waits for nested work
    /// (a sub-graph, the pieces of a `parallelFor`) without blocking its thread.
    func help(_ w: Worker, until done: () -> Bool) {
        var misses = 0
        while !done() {
            if let item = findWork(w) {
                execute(item, on: w)
                misses = 0
            } else {
                w.settleCredit()   // the awaited run may be held up by our own credit
                misses += 1
                if misses > 64 { sched_yield() } else { Pool.cpuRelax() }
            }
        }
    }

    // MARK: Submission

    /// Publishes a registered run: its first claim-roots item goes to the caller's deque if the
    /// caller is a worker of this pool, else to the shared queue.
    func submit(_ run: RunState) {
        let item = WorkItem.roots(slot: run.slot)
        if let w = currentWorker() { w.deque.push(item) } else { injection.push(item) }
        idle.notify()
    }

    // MARK: Execution

    @inline(__always)
    func execute(_ item: Int, on w: Worker) {
        switch item & WorkItem.kindMask {
        case WorkItem.taskKind:
            table.run(at: WorkItem.slot(item))._withUnsafeGuaranteedRef { run in
                if w.holdsCredit(otherThan: run) { w.settleCredit() }   // don't hold another run up
                w.ensureScratch(run.maxOutDegree)
                runStrand(run, from: WorkItem.taskIndex(item), on: w)
                w.endUnit(run)
            }
        case WorkItem.rootsKind:
            table.run(at: WorkItem.slot(item))._withUnsafeGuaranteedRef { run in
                if w.holdsCredit(otherThan: run) { w.settleCredit() }
                claimRoots(run, on: w)
            }
        default:
            w.settleCredit()
            let job = Unmanaged<ParallelForJob>.fromOpaque(UnsafeRawPointer(bitPattern: item & ~WorkItem.kindMask)!)
                .takeRetainedValue()   // balances the retain of the pushed token
            job.work(worker: w)
        }
    }

    /// Claims batches of roots until none are left; the first claim leaves another claim item
    /// behind so idle workers can join in (they then do the same).
    private func claimRoots(_ run: RunState, on w: Worker) {
        w.ensureScratch(run.maxOutDegree)
        let total = run.rootTotal
        let roots = run.roots
        let batch = max(1, min(64, total / (count * 16)))
        var leftClaim = false
        while run.status.load(ordering: .relaxed) == RunState.running {
            // Relaxed: the counter only hands out disjoint index ranges; roots are immutable.
            let start = run.rootNext.wrappingAdd(batch, ordering: .relaxed).oldValue
            if start >= total { break }
            if !leftClaim && count > 1 && start + batch < total {
                leftClaim = true
                w.reserveUnits(1, of: run)   // before the push: Note [Counting live units]
                w.deque.push(WorkItem.roots(slot: run.slot))
                idle.notify()
            }
            for r in start..<min(start + batch, total) {
                runStrand(run, from: Int(roots[r]), on: w)
            }
        }
        w.endUnit(run)
    }

    /// Runs task `first`, then inline the first successor each task makes ready (no queue round
    /// trip; for graphs built in order that is also the next one in memory), pushing the other
    /// ready successors to this worker's deque in reverse, so they pop in successor-list order:
    /// highest priority first, since `compile` sorts each list by descending priority.
    @inline(__always)
    private func runStrand(_ run: RunState, from first: Int, on w: Worker) {
        let offsets = run.succOffsets
        let successors = run.successors
        let successorJoin = run.successorJoin
        let bodies = run.bodies
        let joins = run.joins
        let scratch = w.scratch
        var t = first
        while true {
            // Relaxed: a late view of a failure or cancel only lets a task start that was
            // already allowed to; nothing is read through this flag.
            if run.status.load(ordering: .relaxed) != RunState.running { return }
            if let observers = run.observers {
                if !runObserved(run, task: t, observers: observers, on: w) { return }
            } else {
                do { try bodies[t].call() } catch {
                    run.fail(error)
                    return   // successors of a failed task never start
                }
            }
            var next = -1
            var ready = 0
            for k in Int(offsets[t])..<Int(offsets[t + 1]) {
                let s = Int(successors[k])
                let j = Int(successorJoin[k])
                // A task with one predecessor has no counter: only that predecessor releases it.
                // Acquire-release: the last predecessor to finish sees the others' writes and
                // passes them on to the successor it runs or pushes. (wrappingSubtract is one
                // `lock xadd`; the overflow-checked form would be a CAS loop.)
                if j >= 0 && joins[j].wrappingSubtract(1, ordering: .acquiringAndReleasing).oldValue != 1 { continue }
                if next < 0 { next = s } else { scratch[ready] = Int32(truncatingIfNeeded: s); ready += 1 }
            }
            if ready > 0 {
                w.reserveUnits(ready, of: run)   // before the pushes: Note [Unit credit]
                let slot = run.slot
                let wasEmpty = w.deque.ownerSeesEmpty
                var i = ready
                while i > 0 { i -= 1; w.deque.push(WorkItem.task(Int(scratch[i]), slot: slot)) }
                if wasEmpty { wakeOne() }   // Note [Waking thieves]
            }
            if next < 0 { return }
            t = next
        }
    }

    /// Runs task `t` between its observers' start and end calls; false if it threw.
    @inline(never)
    private func runObserved(_ run: RunState, task t: Int, observers: ObserverList, on w: Worker) -> Bool {
        let savedObservers = w.observers, savedTask = w.currentTask
        let task = ObservedTask(index: t, isPiece: false, graph: observers.graph)
        w.observers = observers
        w.currentTask = t
        defer { w.observers = savedObservers; w.currentTask = savedTask }
        observers.taskWillStart(task, worker: w.index)
        var ok = true
        do { try run.bodies[t].call() } catch {
            run.fail(error)
            ok = false
        }
        observers.taskDidEnd(task, worker: w.index)
        return ok
    }
}

/// Thread-local keys: the worker on this thread, and the `parallelFor` nesting depth.
let workerKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

let loopDepthKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()
