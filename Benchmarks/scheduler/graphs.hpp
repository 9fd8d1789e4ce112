// Shared by the oneTBB and OpenMP scheduler peers: command-line flags, the five graph shapes
// as successor lists (CSR), per-thread task counting, timing and the JSON line.
//
// The shapes are the ones `bench scheduler` runs:
//   chain      N tasks, i -> i+1
//   tree       N tasks in heap order from one root: i -> 2i+1, 2i+2 (N = 2^20-1 is a full tree)
//   wavefront  an N x N grid (N*N tasks); cell (r,c) depends on (r,c-1) and (r-1,c)
//   traversal  random layered DAG: levels of equal width W (default round(sqrt(N))), N/W levels;
//              every node of a level gets 1..4 distinct out-edges into the next level (seeded
//              splitmix64); a node that nobody points at is a root
//   flat       N independent tasks
// A task does no work: it bumps a counter owned by the running thread (no shared cache line), so
// every run is checked to have executed each task exactly once without adding contention.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace peer {

struct Options {
    std::string graph = "chain";
    long size = 1 << 20;
    int threads = 1;
    bool rerun = false;
    int repeat = 0;          // 0: default (10 for reruns, 5 for build+run)
    bool json = false;
    uint64_t seed = 42;
    long width = 0;          // traversal level width; 0: round(sqrt(size))
};

[[noreturn]] inline void usage(const char* prog, const char* why) {
    std::fprintf(stderr, "%s: %s\nusage: %s --graph chain|tree|wavefront|traversal|flat --size N --threads T "
                 "[--rerun] [--repeat R] [--seed S] [--width W] [--json]\n", prog, why, prog);
    std::exit(2);
}

inline Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage(argv[0], ("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--graph") o.graph = value();
        else if (a == "--size") o.size = std::atol(value());
        else if (a == "--threads") o.threads = std::atoi(value());
        else if (a == "--rerun") o.rerun = true;
        else if (a == "--repeat") o.repeat = std::atoi(value());
        else if (a == "--json") o.json = true;
        else if (a == "--seed") o.seed = std::strtoull(value(), nullptr, 10);
        else if (a == "--width") o.width = std::atol(value());
        else usage(argv[0], ("unknown flag " + a).c_str());
    }
    if (o.size < 1 || o.threads < 1 || o.repeat < 0) usage(argv[0], "size and threads must be positive");
    if (o.graph != "chain" && o.graph != "tree" && o.graph != "wavefront" && o.graph != "traversal" &&
        o.graph != "flat") usage(argv[0], ("unknown graph " + o.graph).c_str());
    if (o.repeat == 0) o.repeat = o.rerun ? 10 : 5;
    return o;
}

/// A graph as successor lists: succ[offset[i] .. offset[i+1]) are the successors of task i.
struct Graph {
    long tasks = 0;
    std::vector<long> offset;
    std::vector<int32_t> succ;
    std::vector<int32_t> indegree;
    std::vector<int32_t> roots;
    long edges() const { return (long)succ.size(); }
};

inline uint64_t splitmix64(uint64_t& s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

inline Graph make_graph(const Options& o) {
    Graph g;
    const std::string& s = o.graph;
    long n = o.size;
    if (s == "wavefront") g.tasks = n * n;
    else if (s == "traversal") {
        long w = o.width > 0 ? o.width : std::max(1L, std::lround(std::sqrt((double)n)));
        g.tasks = std::max(1L, n / w) * w;
    } else g.tasks = n;
    long N = g.tasks;
    g.offset.assign(N + 1, 0);
    g.succ.reserve(s == "flat" ? 0 : (size_t)(s == "traversal" ? N * 5 / 2 : 2 * N));
    auto close = [&](long i) { g.offset[i + 1] = (long)g.succ.size(); };
    if (s == "chain") {
        for (long i = 0; i < N; ++i) { if (i + 1 < N) g.succ.push_back((int32_t)(i + 1)); close(i); }
    } else if (s == "tree") {
        for (long i = 0; i < N; ++i) {
            if (2 * i + 1 < N) g.succ.push_back((int32_t)(2 * i + 1));
            if (2 * i + 2 < N) g.succ.push_back((int32_t)(2 * i + 2));
            close(i);
        }
    } else if (s == "wavefront") {
        for (long r = 0; r < n; ++r)
            for (long c = 0; c < n; ++c) {
                long i = r * n + c;
                if (c + 1 < n) g.succ.push_back((int32_t)(i + 1));
                if (r + 1 < n) g.succ.push_back((int32_t)(i + n));
                close(i);
            }
    } else if (s == "traversal") {
        long w = o.width > 0 ? o.width : std::max(1L, std::lround(std::sqrt((double)n)));
        long levels = N / w;
        uint64_t st = o.seed;
        for (long l = 0; l < levels; ++l)
            for (long j = 0; j < w; ++j) {
                long i = l * w + j;
                if (l + 1 < levels) {
                    int k = 1 + (int)(splitmix64(st) % 4);
                    if (k > w) k = (int)w;
                    int32_t chosen[4];
                    int got = 0;
                    while (got < k) {
                        int32_t t = (int32_t)((l + 1) * w + (long)(splitmix64(st) % (uint64_t)w));
                        bool dup = false;
                        for (int q = 0; q < got; ++q) dup |= chosen[q] == t;
                        if (!dup) chosen[got++] = t;
                    }
                    std::sort(chosen, chosen + got);
                    for (int q = 0; q < got; ++q) g.succ.push_back(chosen[q]);
                }
                close(i);
            }
    } else {  // flat
        // offsets stay zero
    }
    g.indegree.assign(N, 0);
    for (int32_t t : g.succ) g.indegree[t]++;
    for (long i = 0; i < N; ++i) if (g.indegree[i] == 0) g.roots.push_back((int32_t)i);
    return g;
}

// Per-thread task counters: each thread increments its own padded slot; after a run the slots are
// summed. Registration happens once per thread under a mutex.
struct alignas(64) Slot { long count = 0; };
inline std::mutex slots_mutex;
inline std::vector<Slot*> slots;
struct SlotOwner {
    Slot* slot;
    SlotOwner() : slot(new Slot) { std::lock_guard<std::mutex> l(slots_mutex); slots.push_back(slot); }
};
inline thread_local SlotOwner tl_slot;
inline void task_body() { tl_slot.slot->count++; }
inline long take_count() {
    std::lock_guard<std::mutex> l(slots_mutex);
    long s = 0;
    for (Slot* p : slots) { s += p->count; p->count = 0; }
    return s;
}
inline void check_count(const Graph& g) {
    long c = take_count();
    if (c != g.tasks) {
        std::fprintf(stderr, "error: ran %ld tasks, expected %ld\n", c, g.tasks);
        std::exit(1);
    }
}

inline double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

inline void report(const char* system, const Options& o, long tasks, long edges, const std::vector<double>& times) {
    double med = median(times);
    double ns = med * 1e9 / (double)tasks;
    double best = *std::min_element(times.begin(), times.end());
    {   // the human-readable line always; with --json the JSON object follows as the last line
        std::printf("%s %s: %ld tasks, %ld edges, %d threads, %s: median %.6f s (min %.6f), %.1f ns/task\n",
                    system, o.graph.c_str(), tasks, edges, o.threads, o.rerun ? "rerun" : "build+run",
                    med, best, ns);
    }
    if (o.json)
        std::printf("{\"system\":\"%s\",\"graph\":\"%s\",\"tasks\":%ld,\"edges\":%ld,\"threads\":%d,"
                    "\"rerun\":%s,\"repeat\":%d,\"median_s\":%.9f,\"min_s\":%.9f,\"ns_per_task\":%.3f}\n",
                    system, o.graph.c_str(), tasks, edges, o.threads, o.rerun ? "true" : "false",
                    (int)times.size(), med, best, ns);
    std::fflush(stdout);
}

}  // namespace peer
