namespace ModelForge.Package;

/// <summary>
/// The batching and concurrency settings of one served model, in Triton's terms. The batch tuner produces one; every
/// bundle writer consumes it: Triton writes it as <c>max_batch_size</c>, <c>dynamic_batching</c> and
/// <c>instance_group.count</c>; TorchServe as <c>batchSize</c>, <c>maxBatchDelay</c> (milliseconds, rounded up) and
/// <c>minWorkers</c>/<c>maxWorkers</c>.
/// </summary>
/// <param name="MaxBatchSize">The largest batch the server may form; 0 turns batching off (the model then sees full shapes).</param>
/// <param name="PreferredBatchSizes">Batch sizes the dynamic batcher aims for, each in 1..<paramref name="MaxBatchSize"/>; empty leaves Triton's default (<c>[max_batch_size]</c>).</param>
/// <param name="MaxQueueDelayMicroseconds">How long a request may wait for a batch to fill.</param>
/// <param name="InstanceCount">Model instances (Triton, per GPU for GPU groups) or workers (TorchServe).</param>
public sealed record BatchingConfig(int MaxBatchSize, IReadOnlyList<int> PreferredBatchSizes, int MaxQueueDelayMicroseconds, int InstanceCount);
