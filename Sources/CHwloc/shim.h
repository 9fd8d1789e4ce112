// hwloc's public header; its `static inline` helpers (hwloc_get_nbobjs_by_type, hwloc_bitmap_*)
// import into Swift directly, so no compiled shim is needed.
#include <hwloc.h>
