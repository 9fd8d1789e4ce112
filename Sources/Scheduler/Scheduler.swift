/// Scheduler: generic task graphs and their parallel execution on a pinned worker pool.
/// It knows nothing of tensors; anything expressible as closures with dependencies runs on it.
public enum SchedulerModule {}
