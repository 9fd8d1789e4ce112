// hwloc's public header; its `static inline` helpers (hwloc_get_nbobjs_by_type, hwloc_bitmap_*)
// import into Swift directly, so no compiled shim is needed.
#include <hwloc.h>

// The CPU's cycle counter, for trace timestamps (TraceRecorder): about 9 ns a read here against
// 21 for clock_gettime. Only x86-64 has it here; elsewhere ge_has_cycle_counter() is 0.
#if defined(__x86_64__)
static inline unsigned long long ge_cycle_counter(void) { return __builtin_ia32_rdtsc(); }
static inline int ge_has_cycle_counter(void) { return 1; }
#else
static inline unsigned long long ge_cycle_counter(void) { return 0; }
static inline int ge_has_cycle_counter(void) { return 0; }
#endif
