/// Tensor: tensors, computational graphs, backprop, plans run on the Scheduler with the Kernels.
public enum TensorModule {}
