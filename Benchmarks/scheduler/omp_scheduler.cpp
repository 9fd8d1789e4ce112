// OpenMP-tasks peer of `bench scheduler`, by dependency counting (the way a careful OpenMP
// programmer writes an arbitrary DAG; `depend` clauses would need every task created up front by one
// thread in topological order). A run copies the in-degrees into atomic pending counts, then inside
// `omp parallel` + `omp single` spawns one `omp task` per root. A finished task decrements its
// successors; the first that becomes ready runs next on the same thread (a loop, no recursion), the
// others become new `omp task`s. The region's closing barrier waits for all tasks.
//
// Build+run (default): make the successor lists and the pending counts, run once. --rerun: build
// once, one untimed warm-up run, then time runs only (each run resets the counts: part of the run).
//
// --mode depend: OpenMP's own dependency tracking instead. One thread creates every task in index
// order (a topological order for all five shapes) with depend(in: each predecessor's token)
// depend(out: its own token); libgomp resolves the dependencies. OpenMP (before 6.0's taskgraph) has
// no prebuilt graph, so in this mode a "rerun" re-creates all tasks from the predecessor lists.
#include "graphs.hpp"

#include <memory>
#include <omp.h>

struct Built {
    peer::Graph shape;
    std::unique_ptr<std::atomic<int32_t>[]> pending;
    std::vector<long> pred_offset;       // depend mode: predecessor lists
    std::vector<int32_t> pred;
    std::unique_ptr<char[]> token;       // depend mode: one dependence address per task
};

static bool depend_mode = false;

static std::unique_ptr<Built> build(const peer::Options& o) {
    auto b = std::make_unique<Built>();
    b->shape = peer::make_graph(o);
    long n = b->shape.tasks;
    if (!depend_mode) {
        b->pending.reset(new std::atomic<int32_t>[n]);
        return b;
    }
    b->pred_offset.assign(n + 1, 0);
    for (long i = 0; i < n; ++i) b->pred_offset[i + 1] = b->pred_offset[i] + b->shape.indegree[i];
    b->pred.resize(b->shape.succ.size());
    std::vector<long> fill(b->pred_offset.begin(), b->pred_offset.end() - 1);
    for (long i = 0; i < n; ++i)
        for (long e = b->shape.offset[i]; e < b->shape.offset[i + 1]; ++e)
            b->pred[fill[b->shape.succ[e]]++] = (int32_t)i;
    b->token.reset(new char[n]);
    return b;
}

static void execute(Built& b, int32_t i) {
    const long* off = b.shape.offset.data();
    const int32_t* succ = b.shape.succ.data();
    std::atomic<int32_t>* pending = b.pending.get();
    for (;;) {
        peer::task_body();
        int32_t next = -1;
        for (long e = off[i]; e < off[i + 1]; ++e) {
            int32_t s = succ[e];
            // acq_rel: the successor must see its predecessors' effects (acquire) and publish ours (release).
            if (pending[s].fetch_sub(1, std::memory_order_acq_rel) == 1) {
                if (next < 0) next = s;
                else {
#pragma omp task firstprivate(s) default(shared)
                    execute(b, s);
                }
            }
        }
        if (next < 0) return;
        i = next;
    }
}

static void run_depend(Built& b, int threads) {
    long n = b.shape.tasks;
    const long* po = b.pred_offset.data();
    const int32_t* pred = b.pred.data();
    char* tok = b.token.get();
#pragma omp parallel num_threads(threads)
#pragma omp single
    {
        for (long i = 0; i < n; ++i) {
            long lo = po[i], np = po[i + 1] - po[i];
#pragma omp task firstprivate(i) depend(iterator(j = 0:np), in: tok[pred[lo + j]]) depend(out: tok[i])
            peer::task_body();
        }
    }
}

static void run(Built& b, int threads) {
    if (depend_mode) { run_depend(b, threads); return; }
    long n = b.shape.tasks;
    const int32_t* indeg = b.shape.indegree.data();
    std::atomic<int32_t>* pending = b.pending.get();
    for (long i = 0; i < n; ++i) pending[i].store(indeg[i], std::memory_order_relaxed);
#pragma omp parallel num_threads(threads)
#pragma omp single
    {
        for (int32_t r : b.shape.roots) {
#pragma omp task firstprivate(r) default(shared)
            execute(b, r);
        }
    }
}

int main(int argc, char** argv) {
    // --mode counters|depend is ours alone; the rest are the shared flags.
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        if (std::strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            std::string m = argv[++i];
            if (m == "depend") depend_mode = true;
            else if (m != "counters") peer::usage(argv[0], "--mode is counters or depend");
        } else args.push_back(argv[i]);
    }
    peer::Options o = peer::parse((int)args.size(), args.data());
    omp_set_dynamic(0);
    std::fprintf(stderr, "OpenMP %d (libgomp), %d threads\n", _OPENMP, o.threads);
    std::vector<double> times;
    long tasks = 0, edges = 0;
    if (o.rerun) {
        auto b = build(o);
        tasks = b->shape.tasks; edges = b->shape.edges();
        run(*b, o.threads); peer::check_count(b->shape);
        for (int r = 0; r < o.repeat; ++r) {
            double t0 = peer::now_s();
            run(*b, o.threads);
            times.push_back(peer::now_s() - t0);
            peer::check_count(b->shape);
        }
    } else {
        for (int r = 0; r < o.repeat + 1; ++r) {  // the first is a warm-up
            double t0 = peer::now_s();
            auto b = build(o);
            run(*b, o.threads);
            double t = peer::now_s() - t0;
            if (r > 0) times.push_back(t);
            tasks = b->shape.tasks; edges = b->shape.edges();
            peer::check_count(b->shape);
            b.reset();
        }
    }
    peer::report(depend_mode ? "openmp-depend" : "openmp", o, tasks, edges, times);
}
