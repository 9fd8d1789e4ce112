// oneTBB flow-graph peer of `bench scheduler`: one continue_node per task, make_edge per edge,
// roots started with try_put from the calling thread, g.wait_for_all() ends a run. A flow graph can be
// run again: continue_nodes re-arm their predecessor counts after firing.
//
// Build+run (default): make the successor lists, create nodes and edges, run once; the graph's
// destruction is not timed. --rerun: build once, one untimed warm-up run, then time runs only.
#include "graphs.hpp"

#include <memory>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/version.h>

using namespace oneapi;
using Node = tbb::flow::continue_node<tbb::flow::continue_msg>;

struct Built {
    peer::Graph shape;
    std::unique_ptr<tbb::flow::graph> g;
    std::vector<std::unique_ptr<Node>> nodes;
};

static std::unique_ptr<Built> build(const peer::Options& o) {
    auto b = std::make_unique<Built>();
    b->shape = peer::make_graph(o);
    b->g = std::make_unique<tbb::flow::graph>();
    long n = b->shape.tasks;
    b->nodes.reserve(n);
    for (long i = 0; i < n; ++i)
        b->nodes.emplace_back(new Node(*b->g, [](const tbb::flow::continue_msg&) { peer::task_body(); }));
    for (long i = 0; i < n; ++i)
        for (long e = b->shape.offset[i]; e < b->shape.offset[i + 1]; ++e)
            tbb::flow::make_edge(*b->nodes[i], *b->nodes[b->shape.succ[e]]);
    return b;
}

static void run(Built& b) {
    for (int32_t r : b.shape.roots) b.nodes[r]->try_put(tbb::flow::continue_msg());
    b.g->wait_for_all();
}

int main(int argc, char** argv) {
    peer::Options o = peer::parse(argc, argv);
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, (size_t)o.threads);
    std::fprintf(stderr, "oneTBB %s (interface %d), max_allowed_parallelism %zu\n", TBB_runtime_version(),
                 TBB_runtime_interface_version(),
                 tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
    std::vector<double> times;
    long tasks = 0, edges = 0;
    if (o.rerun) {
        auto b = build(o);
        tasks = b->shape.tasks; edges = b->shape.edges();
        run(*b); peer::check_count(b->shape);
        for (int r = 0; r < o.repeat; ++r) {
            double t0 = peer::now_s();
            run(*b);
            times.push_back(peer::now_s() - t0);
            peer::check_count(b->shape);
        }
    } else {
        for (int r = 0; r < o.repeat + 1; ++r) {  // the first is a warm-up
            double t0 = peer::now_s();
            auto b = build(o);
            run(*b);
            double t = peer::now_s() - t0;
            if (r > 0) times.push_back(t);
            tasks = b->shape.tasks; edges = b->shape.edges();
            peer::check_count(b->shape);
            b.reset();  // destruction not timed
        }
    }
    peer::report("tbb", o, tasks, edges, times);
}
